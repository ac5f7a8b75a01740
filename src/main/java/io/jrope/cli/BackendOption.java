package io.jrope.cli;

import io.jrope.Backend;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;

/**
 * The {@code --backend NAME} option, shared by the commands that run rotations.
 *
 * <p>The name stays a string until the command runs: resolving {@code auto} loads the native library
 * and logs the choice, which {@code --help} should not do.
 */
final class BackendOption {
    @Option(names = "--backend", paramLabel = "NAME", defaultValue = "auto", completionCandidates = BackendNames.class,
            description = "Where rotations run: ${COMPLETION-CANDIDATES} (default: ${DEFAULT-VALUE}: metal for "
                    + "calls of 4 MiB or more where Metal is available, else the native library when it loads, "
                    + "else java).")
    String name;

    /** Resolves the name; an unknown one is a usage error naming the valid ones. */
    Backend resolve(CommandSpec spec) {
        try {
            return Backend.named(name);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), "invalid value for option '--backend': " + e.getMessage());
        }
    }
}
