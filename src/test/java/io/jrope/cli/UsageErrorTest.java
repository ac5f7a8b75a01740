package io.jrope.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Wrong command lines exit with 2 and print one line naming the offending option. */
class UsageErrorTest {
    @TempDir
    Path folder;

    @Test
    void unknownOptionIsNamed() {
        assertUsageError(apply("--dims", "8", "--bogus"), "--bogus");
    }

    @Test
    void missingDimsIsNamed() {
        assertUsageError(CliResult.run("apply", "--input", "x.npy", "--output", "y.npy"), "--dims");
    }

    @Test
    void oddDimsIsNamed() {
        assertUsageError(apply("--dims", "7"), "--dims");
    }

    @Test
    void nonNumericDimsIsNamed() {
        assertUsageError(apply("--dims", "eight"), "--dims");
    }

    @Test
    void baseWithFreqsIsNamed() {
        CliResult result = apply("--dims", "8", "--base", "100", "--freqs", "f.npy");
        assertUsageError(result, "--base");
        assertTrue(result.err().contains("--freqs"), result.transcript());
    }

    @Test
    void offsetWithPositionsIsNamed() {
        assertUsageError(apply("--dims", "8", "--offset", "3", "--positions", "p.npy"), "--positions");
    }

    @Test
    void invalidBaseIsNamed() {
        assertUsageError(apply("--dims", "8", "--base", "-2"), "--base");
    }

    @Test
    void infiniteScaleIsNamed() {
        assertUsageError(apply("--dims", "8", "--scale", "Infinity"), "--scale");
    }

    @Test
    void unknownBackendIsNamed() {
        CliResult result = apply("--dims", "8", "--backend", "gpu");
        assertUsageError(result, "--backend");
        assertTrue(result.err().contains("java"), result.transcript());
    }

    @Test
    void unknownDtypeIsNamed() {
        assertUsageError(apply("--dims", "8", "--dtype", "int8"), "--dtype");
    }

    @Test
    void missingCommandIsReported() {
        assertUsageError(CliResult.run(), "missing command");
    }

    @Test
    void misspelledCommandGetsSuggestion() {
        CliResult result = CliResult.run("aply");
        assertUsageError(result, "aply");
        assertTrue(result.err().contains("apply"), result.transcript());
    }

    @Test
    void checkRejectsUnknownOption() {
        assertUsageError(CliResult.run("check", "--golden", "dir"), "--golden");
    }

    @Test
    void everyCommandHasHelp() {
        for (String command : new String[] {"apply", "check", "demo"}) {
            CliResult result = CliResult.run(command, "--help");
            assertEquals(0, result.exitCode(), result.transcript());
            assertTrue(result.out().startsWith("Usage: jrope " + command), result.transcript());
            assertEquals("", result.err(), "help printed to the error stream");
        }
    }

    @Test
    void topLevelHelpListsCommands() {
        CliResult result = CliResult.run("--help");
        assertEquals(0, result.exitCode(), result.transcript());
        for (String command : new String[] {"apply", "check", "demo"}) {
            assertTrue(result.out().contains(command), result.transcript());
        }
    }

    private CliResult apply(String... options) {
        String[] args = new String[options.length + 5];
        args[0] = "apply";
        args[1] = "--input";
        args[2] = folder.resolve("x.npy").toString();
        args[3] = "--output";
        args[4] = folder.resolve("y.npy").toString();
        System.arraycopy(options, 0, args, 5, options.length);
        return CliResult.run(args);
    }

    private static void assertUsageError(CliResult result, String mention) {
        assertEquals(Main.EXIT_USAGE, result.exitCode(), result.transcript());
        String err = result.err().strip();
        assertTrue(err.startsWith("jrope: error: "), result.transcript());
        assertFalse(err.contains("\n"), "the error is not one line: " + result.transcript());
        assertFalse(err.contains("\tat "), "the error has a stack trace: " + result.transcript());
        assertTrue(err.contains(mention), "the error does not name " + mention + ": " + result.transcript());
    }
}
