package io.jrope.cli;

import io.jrope.Backend;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class DemoCommandTest {
    @Test
    void demoRunsEveryBackend() {
        CliResult result = CliResult.run("demo");

        assertEquals(0, result.exitCode(), result.transcript());
        assertFalse(result.out().contains("FAIL"), result.transcript());
        for (Backend backend : Backend.all()) {
            String line = backend.isAvailable()
                    ? "backend " + backend.name() + "\n"
                    : "backend " + backend.name() + ": not available: ";
            assertTrue(result.out().contains(line), "no report for " + backend.name() + ":\n" + result.transcript());
        }
        long available = Backend.all().stream().filter(Backend::isAvailable).count();
        assertEquals(available, result.out().lines().filter(line -> line.startsWith("throughput: ")).count(),
                result.transcript());
    }
}
