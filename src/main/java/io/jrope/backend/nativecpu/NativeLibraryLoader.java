package io.jrope.backend.nativecpu;

import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.SymbolLookup;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Finds and loads the jrope shim ({@code libjrope.so} or {@code libjrope.dylib}).
 *
 * <p>Order: the {@code jrope.native.library} system property (a file path); else the copy inside the
 * jar under {@code native/<os>-<arch>/}, used in place when the class path is a folder and otherwise
 * extracted to {@code jrope.native.tmpdir} (default {@code java.io.tmpdir}; set it where temp folders
 * are mounted {@code noexec}). Every path tried is kept for the error message.
 */
public final class NativeLibraryLoader {
    /** System property naming the library file to load instead of the bundled one. */
    public static final String LIBRARY_PROPERTY = "jrope.native.library";
    /** System property naming the folder the bundled library is extracted to. */
    public static final String TMPDIR_PROPERTY = "jrope.native.tmpdir";

    /** A loaded library, or the reason none could be loaded. */
    public record Result(SymbolLookup lookup, Path path, String failure) {
    }

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
        return platform().startsWith("osx") ? "libjrope.dylib" : "libjrope.so";
    }

    /** Loads the library into the global arena; never throws. */
    public static Result load() {
        List<String> tried = new ArrayList<>();

        String override = System.getProperty(LIBRARY_PROPERTY);
        if (override != null && !override.isBlank()) {
            return open(Path.of(override), tried, "-D" + LIBRARY_PROPERTY);
        }

        String resource = "/native/" + platform() + "/" + fileName();
        URL url = NativeLibraryLoader.class.getResource(resource);
        if (url == null) {
            tried.add("class path resource " + resource + ": not found (no library built for " + platform() + ")");
            return failure(tried);
        }
        if (url.getProtocol().equals("file")) {
            try {
                return open(Path.of(url.toURI()), tried, "class path folder");
            } catch (URISyntaxException | IllegalArgumentException e) {
                tried.add(url + ": " + e.getMessage());
            }
        }
        return extractAndOpen(url, tried);
    }

    private static Result extractAndOpen(URL url, List<String> tried) {
        Path folder = Path.of(System.getProperty(TMPDIR_PROPERTY, System.getProperty("java.io.tmpdir")));
        Path target = null;
        try {
            Files.createDirectories(folder);
            Path dir = Files.createTempDirectory(folder, "jrope-");
            target = dir.resolve(fileName());
            try (InputStream in = url.openStream()) {
                Files.copy(in, target, StandardCopyOption.REPLACE_EXISTING);
            }
            target.toFile().deleteOnExit();
            dir.toFile().deleteOnExit();
        } catch (IOException e) {
            tried.add("extracting " + url + " to " + (target != null ? target : folder) + ": " + e);
            return failure(tried);
        }
        return open(target, tried, "extracted from " + url);
    }

    private static Result open(Path path, List<String> tried, String source) {
        try {
            SymbolLookup lookup = SymbolLookup.libraryLookup(path, Arena.global());
            return new Result(lookup, path, null);
        } catch (IllegalArgumentException | IllegalCallerException | UnsupportedOperationException e) {
            tried.add(path + " (" + source + "): " + e.getMessage());
            return failure(tried);
        }
    }

    private static Result failure(List<String> tried) {
        String message = "could not load the jrope native library; tried: " + String.join("; ", tried)
                + ". Fix: build it with 'mvn package' (needs cmake and a C++17 compiler), or point -D"
                + LIBRARY_PROPERTY + "=/path/to/" + fileName() + " at a built copy, and run the JVM with"
                + " --enable-native-access=ALL-UNNAMED (or =io.jrope on the module path)";
        return new Result(null, null, message);
    }
}
