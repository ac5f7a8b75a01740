package io.jrope.backend.nativecpu;

import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Finds and loads the jrope shim ({@code libjrope.so} or {@code libjrope.dylib}), and in the same way
 * the other native libraries of jrope ({@link #load(Library)}).
 *
 * <p>Order: the library's system property ({@code jrope.native.library} for the shim; a file path);
 * else the copy inside the jar under {@code native/<os>-<arch>/}, used in place when the class path is
 * a folder and otherwise extracted to {@code jrope.native.tmpdir} (default {@code java.io.tmpdir}; set
 * it where temp folders are mounted {@code noexec}). Every path tried is kept for the error message.
 */
public final class NativeLibraryLoader {
    /** System property naming the library file to load instead of the bundled one. */
    public static final String LIBRARY_PROPERTY = "jrope.native.library";
    /** System property naming the folder the bundled library is extracted to. */
    public static final String TMPDIR_PROPERTY = "jrope.native.tmpdir";

    /** A loaded library, or the reason none could be loaded. */
    public record Result(SymbolLookup lookup, Path path, String failure) {
    }

    /**
     * A native library of jrope.
     *
     * @param baseName        file name without {@code lib} and the platform suffix, e.g. {@code jrope}
     * @param libraryProperty system property that names the file to load instead of the bundled one
     * @param description     what the library is, for messages ("the jrope native library")
     * @param buildHint       how to build it, for messages ("build it with 'mvn package' (...)")
     */
    public record Library(String baseName, String libraryProperty, String description, String buildHint) {
    }

    /** The CPU shim, {@code libjrope}. */
    public static final Library JROPE = new Library("jrope", LIBRARY_PROPERTY, "the jrope native library",
            "build it with 'mvn package' (needs cmake and a C++17 compiler)");

    private NativeLibraryLoader() {
    }

    /** Platform folder name inside the jar, for example {@code linux-x86_64}. */
    public static String platform() {
        String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
        String arch = System.getProperty("os.arch", "").toLowerCase(Locale.ROOT);
        String osPart = os.contains("mac") || os.contains("darwin") ? "osx" : os.contains("linux") ? "linux" : os.replace(' ', '_');
        String archPart = switch (arch) {
            case "amd64", "x86_64" -> "x86_64";
            case "aarch64", "arm64" -> "aarch64";
            default -> arch;
        };
        return osPart + "-" + archPart;
    }

    static String fileName() {
        return fileName(JROPE);
    }

    /** File name of {@code library} on this platform, for example {@code libjrope.so}. */
    public static String fileName(Library library) {
        return "lib" + library.baseName() + (platform().startsWith("osx") ? ".dylib" : ".so");
    }

    /** Loads the CPU shim into the global arena; never throws. */
    public static Result load() {
        return load(JROPE);
    }

    /** Loads {@code library} into the global arena; never throws. */
    public static Result load(Library library) {
        List<String> tried = new ArrayList<>();

        String override = System.getProperty(library.libraryProperty());
        if (override != null && !override.isBlank()) {
            try {
                return open(library, Path.of(override), tried, "-D" + library.libraryProperty());
            } catch (InvalidPathException e) {
                tried.add("'" + override + "' (-D" + library.libraryProperty() + "): not a valid path: " + e.getMessage());
                return failure(library, tried);
            }
        }

        String resource = "/native/" + platform() + "/" + fileName(library);
        URL url = NativeLibraryLoader.class.getResource(resource);
        if (url == null) {
            tried.add("class path resource " + resource + ": not found (no library built for " + platform() + ")");
            return failure(library, tried);
        }
        if (url.getProtocol().equals("file")) {
            try {
                return open(library, Path.of(url.toURI()), tried, "class path folder");
            } catch (URISyntaxException | IllegalArgumentException e) {
                tried.add(url + ": " + e.getMessage());
            }
        }
        return extractAndOpen(library, url, tried);
    }

    private static Result extractAndOpen(Library library, URL url, List<String> tried) {
        String folderName = System.getProperty(TMPDIR_PROPERTY, System.getProperty("java.io.tmpdir"));
        Path folder;
        try {
            folder = Path.of(folderName);
        } catch (InvalidPathException e) {
            tried.add("extracting " + url + " to '" + folderName + "' (-D" + TMPDIR_PROPERTY + "): not a valid path: "
                    + e.getMessage());
            return failure(library, tried);
        }
        Path target = null;
        try {
            Files.createDirectories(folder);
            Path dir = Files.createTempDirectory(folder, "jrope-");
            target = dir.resolve(fileName(library));
            try (InputStream in = url.openStream()) {
                Files.copy(in, target, StandardCopyOption.REPLACE_EXISTING);
            }
            target.toFile().deleteOnExit();
            dir.toFile().deleteOnExit();
        } catch (IOException e) {
            tried.add("extracting " + url + " to " + (target != null ? target : folder) + ": " + e);
            return failure(library, tried);
        }
        return open(library, target, tried, "extracted from " + url);
    }

    private static Result open(Library library, Path path, List<String> tried, String source) {
        try {
            SymbolLookup lookup = SymbolLookup.libraryLookup(path, Arena.global());
            return new Result(lookup, path, null);
        } catch (IllegalArgumentException | IllegalCallerException | UnsupportedOperationException e) {
            tried.add(path + " (" + source + "): " + e.getMessage());
            return failure(library, tried);
        }
    }

    private static Result failure(Library library, List<String> tried) {
        String message = "could not load " + library.description() + "; tried: " + String.join("; ", tried)
                + ". Fix: " + library.buildHint() + ", or point -D"
                + library.libraryProperty() + "=/path/to/" + fileName(library) + " at a built copy, and run the JVM with"
                + " --enable-native-access=ALL-UNNAMED (or =io.jrope on the module path)";
        return new Result(null, null, message);
    }

    /** Returns the address of exported function {@code name}, or throws naming the missing symbol. */
    public static MemorySegment symbol(SymbolLookup lookup, String name) {
        return lookup.find(name).orElseThrow(() -> new IllegalStateException("symbol " + name + " not found"));
    }

    /** Reads a NUL-terminated string a library returned (static or thread-local storage). */
    public static String cString(MemorySegment pointer) {
        if (pointer.equals(MemorySegment.NULL)) {
            return "";
        }
        return pointer.reinterpret(Integer.MAX_VALUE).getString(0);
    }
}
