package io.triptych.backend.ortcuda;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Where the dynamic linker would look for the CUDA libraries, used only to explain a failure in
 * one line: ONNX Runtime names only the first library the linker missed (and its legacy
 * {@code addCUDA(int)} none at all), while the driver is usually the one worth naming.
 *
 * <p>The search path is an approximation of ld.so's: {@code LD_LIBRARY_PATH}, the folders of
 * {@code /etc/ld.so.conf} (with its {@code include}s) and the default system folders. Nothing is
 * loaded: loading a library from Java would bind it to this bundle's class loader.
 */
final class CudaLibraries {
    /**
     * What ONNX Runtime 1.29's CUDA provider library ({@code libonnxruntime_providers_cuda.so} of the
     * Maven {@code onnxruntime_gpu} jar) links against, read from its dynamic string table: the
     * CUDA 12 runtime, cuBLAS, cuBLASLt, cuRAND, and the driver's {@link #DRIVER}.
     */
    static final List<String> PROVIDER_NEEDS = List.of("libcudart.so.12", "libcublas.so.12", "libcublasLt.so.12", "libcurand.so.10");
    /** The NVIDIA driver's user-space library, also linked by the provider. */
    static final String DRIVER = "libcuda.so.1";
    /** cuDNN 9, which the provider opens itself (dlopen) when a session starts rather than linking it. */
    static final String CUDNN = "libcudnn.so.9";

    private static final List<Path> SYSTEM_DIRS = List.of(Path.of("/lib64"), Path.of("/usr/lib64"), Path.of("/lib"), Path.of("/usr/lib"));

    /** ONNX Runtime's "file:line function [ONNXRuntimeError] : code : NAME : " prefix. */
    private static final Pattern ORT_PREFIX = Pattern.compile("^.*\\[ONNXRuntimeError\\] : \\d+ : \\w+ : ");
    /** How ONNX Runtime quotes dlopen's error when a provider library does not load. */
    private static final String LINKER_ERROR = " with error: ";

    private final List<Path> searchPath;

    CudaLibraries(List<Path> searchPath) {
        this.searchPath = List.copyOf(searchPath);
    }

    /** This process's search path. */
    static CudaLibraries system() {
        Set<Path> dirs = new LinkedHashSet<>();
        String ld = System.getenv("LD_LIBRARY_PATH");
        if (ld != null) {
            for (String d : ld.split(":")) {
                if (!d.isBlank()) {
                    dirs.add(Path.of(d));
                }
            }
        }
        dirs.addAll(configuredDirs(Path.of("/etc/ld.so.conf")));
        dirs.addAll(SYSTEM_DIRS);
        return new CudaLibraries(new ArrayList<>(dirs));
    }

    /** The folders a {@code ld.so.conf} file lists, following {@code include} lines (globs allowed); none if unreadable. */
    static List<Path> configuredDirs(Path conf) {
        List<Path> dirs = new ArrayList<>();
        List<String> lines;
        try {
            lines = Files.readAllLines(conf);
        } catch (IOException e) {
            return dirs;
        }
        for (String raw : lines) {
            String line = raw.replaceFirst("#.*", "").trim();
            if (line.startsWith("include ")) {
                Path pattern = conf.resolveSibling(line.substring("include ".length()).trim());
                Path parent = pattern.getParent();
                if (parent == null || !Files.isDirectory(parent)) {
                    continue;
                }
                try (DirectoryStream<Path> included = Files.newDirectoryStream(parent, pattern.getFileName().toString())) {
                    List<Path> files = new ArrayList<>();
                    included.forEach(files::add);
                    files.stream().sorted().forEach(f -> dirs.addAll(configuredDirs(f)));
                } catch (IOException e) {
                    // an unreadable include contributes nothing, as for ldconfig
                }
            } else if (!line.isEmpty()) {
                dirs.add(Path.of(line));
            }
        }
        return dirs;
    }

    /** The names in {@code sonames} found in no folder of the search path, in order. */
    List<String> missing(List<String> sonames) {
        return sonames.stream().filter(so -> searchPath.stream().noneMatch(d -> Files.exists(d.resolve(so)))).toList();
    }

    /** One line on why ONNX Runtime could not load its CUDA provider, naming missing libraries where some are. */
    String whyProviderFailed(Exception ortError) {
        if (!missing(List.of(DRIVER)).isEmpty()) {
            return noDriver();
        }
        List<String> missing = missing(PROVIDER_NEEDS);
        if (!missing.isEmpty()) {
            return String.join(", ", missing) + " not found on the library path (ONNX Runtime's CUDA provider needs CUDA 12)";
        }
        return "ONNX Runtime's CUDA provider did not load: " + ortMessage(ortError.getMessage());
    }

    /** One line on why a session could not start on a device, if a missing library explains it; otherwise {@code null}. */
    String whySessionFailed() {
        if (!missing(List.of(DRIVER)).isEmpty()) {
            return noDriver();
        }
        if (!missing(List.of(CUDNN)).isEmpty()) {
            return CUDNN + " not found on the library path (ONNX Runtime's CUDA provider needs cuDNN 9)";
        }
        return null;
    }

    private static String noDriver() {
        return DRIVER + " not found: no NVIDIA driver on this machine";
    }

    /**
     * The informative part of an ONNX Runtime error in one line: without the source location and
     * {@code [ONNXRuntimeError] : 1 : FAIL :} prefix, and for a library that failed to load, only
     * the dynamic linker's error (e.g. "libcublasLt.so.12: cannot open shared object file: No such
     * file or directory").
     */
    static String ortMessage(String message) {
        String line = message == null ? "" : message.strip().lines().findFirst().orElse("");
        line = ORT_PREFIX.matcher(line).replaceFirst("");
        int linker = line.indexOf(LINKER_ERROR);
        if (linker >= 0) {
            line = line.substring(linker + LINKER_ERROR.length());
        }
        return line.isBlank() ? "no message" : line.strip();
    }
}
