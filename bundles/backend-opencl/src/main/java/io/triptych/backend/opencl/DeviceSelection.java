package io.triptych.backend.opencl;

import static org.jocl.CL.CL_DEVICE_AVAILABLE;
import static org.jocl.CL.CL_DEVICE_GLOBAL_MEM_SIZE;
import static org.jocl.CL.CL_DEVICE_MAX_COMPUTE_UNITS;
import static org.jocl.CL.CL_DEVICE_NAME;
import static org.jocl.CL.CL_DEVICE_TYPE;
import static org.jocl.CL.CL_DEVICE_TYPE_ALL;
import static org.jocl.CL.CL_DEVICE_TYPE_GPU;
import static org.jocl.CL.CL_DEVICE_VERSION;
import static org.jocl.CL.CL_PLATFORM_NAME;
import static org.jocl.CL.clGetDeviceIDs;
import static org.jocl.CL.clGetDeviceInfo;
import static org.jocl.CL.clGetPlatformIDs;
import static org.jocl.CL.clGetPlatformInfo;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;

import org.jocl.CL;
import org.jocl.CLException;
import org.jocl.Pointer;
import org.jocl.Sizeof;
import org.jocl.cl_device_id;
import org.jocl.cl_platform_id;

/**
 * Which OpenCL device to run on: every device is enumerated, filtered by the configured platform
 * and device names and type, and the best remaining one (a GPU unless a CPU is preferred, then
 * the most memory) is taken; each other device keeps the reason it was not.
 *
 * @param chosen the device taken, or {@code null} if none qualifies
 * @param notTaken one line per other device: its description and why it was not taken
 * @param unavailable why no device was taken ({@code null} when one was)
 */
record DeviceSelection(DeviceInfo chosen, List<String> notTaken, String unavailable) {

    /** Device type preference, as configured. */
    enum Preference { PREFER_GPU, PREFER_CPU, GPU_ONLY, CPU_ONLY }

    /** Enumerates the devices of every platform and chooses one; never throws for a missing ICD. */
    static DeviceSelection select(String platformFilter, String deviceFilter, Preference preference) {
        List<DeviceInfo> all;
        try {
            CL.setExceptionsEnabled(true);
            all = enumerate();
        } catch (LinkageError e) {
            return new DeviceSelection(null, List.of(), "the OpenCL library cannot be loaded (" + e.getMessage()
                    + "; is ocl-icd-libopencl1 installed?)");
        } catch (CLException e) {
            return new DeviceSelection(null, List.of(), "no OpenCL platform (is an ICD such as pocl-opencl-icd installed?): "
                    + e.getMessage());
        }
        if (all.isEmpty()) {
            return new DeviceSelection(null, List.of(), "no OpenCL platform (is an ICD such as pocl-opencl-icd installed?)");
        }
        List<DeviceInfo> candidates = new ArrayList<>();
        List<String> notTaken = new ArrayList<>();
        for (DeviceInfo d : all) {
            String why = rejection(d, platformFilter, deviceFilter, preference);
            if (why == null) {
                candidates.add(d);
            } else {
                notTaken.add(d.describe() + ": " + why);
            }
        }
        Comparator<DeviceInfo> order = Comparator.comparing((DeviceInfo d) -> d.gpu() == (preference == Preference.PREFER_CPU))
                .thenComparing(Comparator.comparingLong(DeviceInfo::globalMemory).reversed());
        candidates.sort(order);
        if (candidates.isEmpty()) {
            return new DeviceSelection(null, notTaken, "no OpenCL device matches the configuration (" + String.join("; ", notTaken) + ")");
        }
        for (DeviceInfo d : candidates.subList(1, candidates.size())) {
            notTaken.add(d.describe() + ": another device is preferred");
        }
        return new DeviceSelection(candidates.get(0), List.copyOf(notTaken), null);
    }

    private static String rejection(DeviceInfo d, String platformFilter, String deviceFilter, Preference preference) {
        if (!contains(d.platformName(), platformFilter)) {
            return "platform does not match '" + platformFilter + "'";
        }
        if (!contains(d.deviceName(), deviceFilter)) {
            return "device does not match '" + deviceFilter + "'";
        }
        if (preference == Preference.GPU_ONLY && !d.gpu()) {
            return "not a GPU (deviceType GPU_ONLY)";
        }
        if (preference == Preference.CPU_ONLY && d.gpu()) {
            return "a GPU (deviceType CPU_ONLY)";
        }
        if (d.version().startsWith("OpenCL 1.0") || d.version().startsWith("OpenCL 1.1")) {
            return "needs OpenCL 1.2 or newer";
        }
        return null;
    }

    private static boolean contains(String name, String filter) {
        return filter == null || filter.isBlank() || name.toLowerCase(Locale.ROOT).contains(filter.trim().toLowerCase(Locale.ROOT));
    }

    private static List<DeviceInfo> enumerate() {
        int[] count = new int[1];
        clGetPlatformIDs(0, null, count);
        cl_platform_id[] platforms = new cl_platform_id[count[0]];
        clGetPlatformIDs(platforms.length, platforms, null);
        List<DeviceInfo> devices = new ArrayList<>();
        for (cl_platform_id p : platforms) {
            String platformName = platformString(p, CL_PLATFORM_NAME);
            int[] n = new int[1];
            try {
                clGetDeviceIDs(p, CL_DEVICE_TYPE_ALL, 0, null, n);
            } catch (CLException e) {
                continue; // a platform without devices
            }
            cl_device_id[] ids = new cl_device_id[n[0]];
            clGetDeviceIDs(p, CL_DEVICE_TYPE_ALL, ids.length, ids, null);
            for (cl_device_id id : ids) {
                if (deviceInt(id, CL_DEVICE_AVAILABLE) == 0) {
                    continue;
                }
                devices.add(new DeviceInfo(p, id, platformName, deviceString(id, CL_DEVICE_NAME), deviceString(id, CL_DEVICE_VERSION),
                        (deviceLong(id, CL_DEVICE_TYPE) & CL_DEVICE_TYPE_GPU) != 0, deviceLong(id, CL_DEVICE_GLOBAL_MEM_SIZE),
                        deviceInt(id, CL_DEVICE_MAX_COMPUTE_UNITS)));
            }
        }
        return devices;
    }

    private static String platformString(cl_platform_id p, int param) {
        long[] size = new long[1];
        clGetPlatformInfo(p, param, 0, null, size);
        byte[] b = new byte[(int) size[0]];
        clGetPlatformInfo(p, param, b.length, Pointer.to(b), null);
        return cString(b);
    }

    private static String deviceString(cl_device_id d, int param) {
        long[] size = new long[1];
        clGetDeviceInfo(d, param, 0, null, size);
        byte[] b = new byte[(int) size[0]];
        clGetDeviceInfo(d, param, b.length, Pointer.to(b), null);
        return cString(b);
    }

    private static long deviceLong(cl_device_id d, int param) {
        long[] v = new long[1];
        clGetDeviceInfo(d, param, Sizeof.cl_long, Pointer.to(v), null);
        return v[0];
    }

    private static int deviceInt(cl_device_id d, int param) {
        int[] v = new int[1];
        clGetDeviceInfo(d, param, Sizeof.cl_int, Pointer.to(v), null);
        return v[0];
    }

    private static String cString(byte[] b) {
        int len = 0;
        while (len < b.length && b[len] != 0) {
            len++;
        }
        return new String(b, 0, len, StandardCharsets.UTF_8).trim();
    }
}
