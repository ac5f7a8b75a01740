package io.jrope.golden;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Objects;

/**
 * Storage of a golden manifest's files: a folder on disk, or a folder of class path resources (the
 * cases bundled in the jar). Names are relative to the folder that contains {@code manifest.json}.
 */
sealed interface GoldenFiles {
    /** Opens {@code name}; the caller closes the stream. */
    InputStream open(String name) throws IOException;

    /** Size of {@code name} in bytes, or -1 when the storage cannot tell without reading it. */
    long size(String name) throws IOException;

    /** The full location of {@code name}, for messages. */
    String describe(String name);

    /** Files in a folder on disk. */
    record Folder(Path folder) implements GoldenFiles {
        public Folder {
            Objects.requireNonNull(folder, "folder");
        }

        @Override
        public InputStream open(String name) throws IOException {
            return Files.newInputStream(folder.resolve(name));
        }

        @Override
        public long size(String name) throws IOException {
            return Files.size(folder.resolve(name));
        }

        @Override
        public String describe(String name) {
            return folder.resolve(name).toString();
        }
    }

    /** Class path resources under {@code prefix} (an absolute resource path such as {@code /io/jrope/demo}). */
    record Resources(Class<?> anchor, String prefix) implements GoldenFiles {
        public Resources {
            Objects.requireNonNull(anchor, "anchor");
            Objects.requireNonNull(prefix, "prefix");
        }

        @Override
        public InputStream open(String name) throws IOException {
            InputStream in = anchor.getResourceAsStream(prefix + "/" + name);
            if (in == null) {
                throw new NoSuchFileException(describe(name), null, "class path resource not found");
            }
            return in;
        }

        @Override
        public long size(String name) {
            return -1;
        }

        @Override
        public String describe(String name) {
            return "classpath:" + prefix + "/" + name;
        }
    }
}
