package io.triptych.backend.opencl;

import org.jocl.cl_device_id;
import org.jocl.cl_platform_id;

/**
 * One OpenCL device as enumerated.
 *
 * @param platformName the platform's name, e.g. "Portable Computing Language"
 * @param deviceName the device's name
 * @param version the device's OpenCL version string
 * @param gpu whether the device reports {@code CL_DEVICE_TYPE_GPU}
 * @param globalMemory global memory in bytes
 * @param computeUnits parallel compute units
 */
record DeviceInfo(cl_platform_id platform, cl_device_id device, String platformName, String deviceName, String version,
                  boolean gpu, long globalMemory, int computeUnits) {

    /** One line: platform, device, type, memory, compute units. */
    String describe() {
        return platformName + " / " + deviceName + " (" + (gpu ? "GPU" : "CPU") + ", " + version + ", "
                + (globalMemory >> 20) + " MiB, " + computeUnits + " compute units)";
    }
}
