package io.jrope.cli;

import io.jrope.Backend;
import io.jrope.golden.GoldenCase;
import io.jrope.golden.GoldenManifest;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

/** {@code jrope demo}: the bundled MLX golden cases and a throughput figure on every available backend. */
@Command(name = "demo",
        mixinStandardHelpOptions = true,
        versionProvider = VersionProvider.class,
        description = {
                "Runs the MLX golden cases bundled in the jar on every backend that is available here, prints "
                        + "the same table as 'jrope check', and times a short loop of rotations of a float32 "
                        + Throughput.SHAPE_TEXT + " tensor per backend.",
                "Exits with 1 if any case fails.",
        })
final class DemoCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws IOException {
        PrintWriter out = spec.commandLine().getOut();
        GoldenManifest manifest = GoldenManifest.loadResources(DemoCommand.class, CheckCommand.BUNDLED_GOLDENS);
        out.println("jrope demo: " + manifest.cases().size() + " golden cases produced by MLX " + manifest.mlxVersion()
                + " (mx.fast.rope, CPU), bundled in the jar");

        long failures = 0;
        boolean legendPrinted = false;
        for (Backend backend : Backend.all()) {
            out.println();
            if (!backend.isAvailable()) {
                out.println("backend " + backend.name() + ": not available: " + backend.unavailableReason().orElse(""));
                continue;
            }
            out.println("backend " + backend.name());
            List<CheckRow> rows = new ArrayList<>();
            for (GoldenCase goldenCase : manifest.cases()) {
                rows.addAll(GoldenCheck.run(goldenCase, backend));
            }
            ResultTable.print(out, rows);
            failures += ResultTable.failures(rows);

            Throughput throughput = Throughput.measure(backend);
            out.printf(Locale.ROOT, "throughput: %.2f GB/s (read + write), %d calls on float32 %s (%d MiB) in %.2f s%n",
                    throughput.gigabytesPerSecond(), throughput.calls(), Arrays.toString(throughput.shape()),
                    throughput.bytes() / 2 >> 20, throughput.seconds());
            legendPrinted = true;
        }

        out.println();
        if (legendPrinted) {
            ResultTable.printLegend(out);
            out.println();
        }
        out.println(failures == 0 ? "all checks passed" : failures + " checks failed");
        return failures == 0 ? 0 : Main.EXIT_FAILURE;
    }
}
