package io.jrope.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;
import picocli.CommandLine.UnmatchedArgumentException;

import java.io.PrintWriter;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.NoSuchFileException;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * The {@code jrope} command-line tool: {@code apply}, {@code check}, {@code demo}, {@code bench}.
 *
 * <p>Exit codes: 0 on success, 1 when the command ran and failed (unreadable file, failed check),
 * 2 when the command line is wrong (unknown or missing option, invalid value). Errors print as one
 * line, {@code jrope: error: ...}, without a stack trace.
 */
@Command(name = "jrope",
        mixinStandardHelpOptions = true,
        versionProvider = VersionProvider.class,
        description = "Rotary positional encoding (RoPE) for attention tensors stored as .npy files.",
        subcommands = {
                ApplyCommand.class,
                CheckCommand.class,
                DemoCommand.class,
                BenchCommand.class,
                CommandLine.HelpCommand.class,
        })
public final class Main implements Callable<Integer> {
    /** Exit code when the command ran and failed. */
    public static final int EXIT_FAILURE = 1;
    /** Exit code for an invalid command line. */
    public static final int EXIT_USAGE = 2;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        List<String> names = spec.subcommands().keySet().stream().filter(name -> !name.equals("help")).toList();
        throw new ParameterException(spec.commandLine(), "missing command; choose one of " + String.join(", ", names));
    }

    public static void main(String[] args) {
        // One line per log record ("WARNING: ...") in place of java.util.logging's two-line default.
        if (System.getProperty("java.util.logging.SimpleFormatter.format") == null) {
            System.setProperty("java.util.logging.SimpleFormatter.format", "%4$s: %5$s%6$s%n");
        }
        PrintWriter out = new PrintWriter(System.out, true);
        PrintWriter err = new PrintWriter(System.err, true);
        int code = run(out, err, args);
        out.flush();
        err.flush();
        System.exit(code);
    }

    /** Runs one command line, printing to {@code out} and {@code err}, and returns its exit code. */
    public static int run(PrintWriter out, PrintWriter err, String... args) {
        CommandLine commandLine = new CommandLine(new Main());
        commandLine.setOut(out);
        commandLine.setErr(err);
        commandLine.setParameterExceptionHandler((exception, arguments) -> {
            CommandLine failed = exception.getCommandLine();
            failed.getErr().println("jrope: error: " + usageMessage(exception) + " (see '"
                    + failed.getCommandSpec().qualifiedName() + " --help')");
            return EXIT_USAGE;
        });
        commandLine.setExecutionExceptionHandler((exception, failed, parseResult) -> {
            failed.getErr().println("jrope: error: " + failureMessage(exception));
            return EXIT_FAILURE;
        });
        return commandLine.execute(args);
    }

    private static String usageMessage(ParameterException exception) {
        // picocli starts some messages with its own "Error: ", which would follow ours.
        String message = oneLine(exception.getMessage()).replaceFirst("^Error: ", "");
        if (exception instanceof UnmatchedArgumentException unmatched && !unmatched.getSuggestions().isEmpty()) {
            message += "; did you mean " + String.join(" or ", unmatched.getSuggestions()) + "?";
        }
        return message;
    }

    /** Phrases the exceptions whose own message is only a path. */
    static String failureMessage(Exception exception) {
        if (exception instanceof NoSuchFileException missing) {
            String reason = missing.getReason() == null ? "" : " (" + missing.getReason() + ")";
            return "file not found: " + missing.getFile() + reason;
        }
        if (exception instanceof AccessDeniedException denied) {
            return "permission denied: " + denied.getFile();
        }
        if (exception instanceof FileAlreadyExistsException exists) {
            return "file already exists: " + exists.getFile();
        }
        String message = exception.getMessage();
        return message == null || message.isBlank() ? exception.getClass().getSimpleName() : oneLine(message);
    }

    private static String oneLine(String message) {
        return message == null ? "" : message.strip().replaceAll("\\s*\\R\\s*", "; ");
    }
}
