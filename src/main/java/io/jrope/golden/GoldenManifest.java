package io.jrope.golden;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * A golden manifest ({@code manifest.json}): the MLX version that produced the cases, and the cases.
 *
 * <p>Cases are read from a folder on disk ({@link #load(Path)}) or from class path resources
 * ({@link #loadResources(Class, String)}); either way, each case's files sit in a folder named after
 * the case next to the manifest. Needs Jackson databind on the class path.
 */
public final class GoldenManifest {
    /** File name of the manifest inside its folder. */
    public static final String FILE_NAME = "manifest.json";

    private final String location;
    private final String mlxVersion;
    private final String mlxCommit;
    private final List<GoldenCase> cases;

    private GoldenManifest(String location, String mlxVersion, String mlxCommit, List<GoldenCase> cases) {
        this.location = location;
        this.mlxVersion = mlxVersion;
        this.mlxCommit = mlxCommit;
        this.cases = List.copyOf(cases);
    }

    /**
     * Loads the manifest at {@code path}: a {@code manifest.json} file, or the folder that contains one.
     *
     * @throws IOException if the manifest is missing, is not valid JSON, or a case lacks a required field
     */
    public static GoldenManifest load(Path path) throws IOException {
        Objects.requireNonNull(path, "path");
        Path folder = Files.isDirectory(path) ? path : path.toAbsolutePath().getParent();
        GoldenFiles files = new GoldenFiles.Folder(folder);
        String name = Files.isDirectory(path) ? FILE_NAME : path.getFileName().toString();
        if (!Files.isRegularFile(folder.resolve(name))) {
            throw new IOException("no golden manifest at " + folder.resolve(name)
                    + "; pass a folder holding " + FILE_NAME + " or the file itself");
        }
        return parse(files, name);
    }

    /**
     * Loads {@code manifest.json} from the class path resources under {@code prefix}, an absolute
     * resource folder such as {@code /io/jrope/demo}, resolved through {@code anchor}'s class loader.
     */
    public static GoldenManifest loadResources(Class<?> anchor, String prefix) throws IOException {
        return parse(new GoldenFiles.Resources(anchor, prefix), FILE_NAME);
    }

    private static GoldenManifest parse(GoldenFiles files, String name) throws IOException {
        String location = files.describe(name);
        JsonNode root;
        try (InputStream in = files.open(name)) {
            root = new ObjectMapper().readTree(in);
        } catch (JacksonException e) {
            throw new IOException(location + " is not valid JSON: " + e.getOriginalMessage(), e);
        }
        if (root == null || !root.path("cases").isArray()) {
            throw new IOException(location + " must be a JSON object with a 'cases' list");
        }

        List<GoldenCase> cases = new ArrayList<>();
        for (JsonNode node : root.path("cases")) {
            cases.add(GoldenCase.fromJson(node, files, location));
        }
        return new GoldenManifest(location, root.path("mlx_version").asText(""), root.path("mlx_commit").asText(""),
                cases);
    }

    /** Returns where the manifest was read from, for messages. */
    public String location() {
        return location;
    }

    /** Returns the MLX version that produced the cases, for example {@code 0.32.2}, or an empty string. */
    public String mlxVersion() {
        return mlxVersion;
    }

    /** Returns the MLX commit that produced the cases, or an empty string. */
    public String mlxCommit() {
        return mlxCommit;
    }

    /** Returns the cases in manifest order. */
    public List<GoldenCase> cases() {
        return cases;
    }
}
