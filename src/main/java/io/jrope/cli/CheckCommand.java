package io.jrope.cli;

import io.jrope.Backend;
import io.jrope.backend.nativecpu.NativeBackend;
import io.jrope.golden.GoldenCase;
import io.jrope.golden.GoldenManifest;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/** {@code jrope check}: runs every case of a golden manifest and compares with MLX and with float64. */
@Command(name = "check",
        mixinStandardHelpOptions = true,
        versionProvider = VersionProvider.class,
        sortOptions = false,
        description = {
                "Runs every case of an MLX golden manifest on one backend and prints a table: the distance from "
                        + "MLX's output (within the case's suggested_atol) and from a float64 evaluation (within "
                        + "jrope's accuracy targets). Cases with a gradient also check the inverse rotation; cases "
                        + "MLX rejects pass only if jrope rejects them too.",
                "Exits with 1 if any case fails.",
        })
final class CheckCommand implements Callable<Integer> {
    /** Class path folder of the golden cases bundled in the jar. */
    static final String BUNDLED_GOLDENS = "/io/jrope/demo";

    @Spec
    CommandSpec spec;

    @Option(names = "--goldens", paramLabel = "DIR",
            description = "Folder containing manifest.json and one folder per case (or the manifest file itself). "
                    + "Default: the subset of cases bundled in the jar, the ones 'jrope demo' runs.")
    Path goldens;

    @Mixin
    BackendOption backendOption;

    @Override
    public Integer call() throws IOException {
        Backend backend = backendOption.resolve(spec);
        if (!backend.isAvailable()) {
            throw new ParameterException(spec.commandLine(), "backend '" + backend.name() + "' is not available: "
                    + backend.unavailableReason().orElse(""));
        }
        GoldenManifest manifest = goldens == null
                ? GoldenManifest.loadResources(CheckCommand.class, BUNDLED_GOLDENS)
                : GoldenManifest.load(goldens);
        if (manifest.cases().isEmpty()) {
            spec.commandLine().getErr().println("jrope: error: " + manifest.location() + " lists no cases; nothing was"
                    + " checked");
            return Main.EXIT_FAILURE;
        }
        PrintWriter out = spec.commandLine().getOut();
        out.println("golden cases: " + manifest.location() + " (MLX " + manifest.mlxVersion() + ")");
        out.println("backend: " + backend.name() + (backend.name().equals("native")
                ? " (" + NativeBackend.cpuKernel() + " kernels)" : ""));
        out.println();

        List<CheckRow> rows = new ArrayList<>();
        for (GoldenCase goldenCase : manifest.cases()) {
            rows.addAll(GoldenCheck.run(goldenCase, backend));
        }
        ResultTable.print(out, rows);
        out.println();
        ResultTable.printLegend(out);
        out.println();

        long failures = ResultTable.failures(rows);
        out.println(failures == 0
                ? "all " + rows.size() + " checks passed"
                : failures + " of " + rows.size() + " checks failed");
        return failures == 0 ? 0 : Main.EXIT_FAILURE;
    }
}
