package io.jrope.cli;

import io.jrope.golden.Accuracy;

import java.io.PrintWriter;
import java.util.List;
import java.util.Locale;

/** Prints check results as an aligned text table, followed by a legend of the columns. */
final class ResultTable {
    private static final String[] HEADERS =
            {"case", "dtype", "vs MLX", "atol", "vs float64", "ulp", "MLX vs f64", "result"};

    private ResultTable() {
    }

    static void print(PrintWriter out, List<CheckRow> rows) {
        int caseWidth = HEADERS[0].length();
        for (CheckRow row : rows) {
            caseWidth = Math.max(caseWidth, row.label().length());
        }
        String format = "%-" + caseWidth + "s  %-8s  %9s  %9s  %10s  %6s  %10s  %s%n";
        out.printf(Locale.ROOT, format, (Object[]) HEADERS);
        for (CheckRow row : rows) {
            Accuracy accuracy = row.accuracy();
            out.printf(Locale.ROOT, format,
                    row.label(),
                    row.dtype(),
                    scientific(row.errorVsMlx()),
                    scientific(row.atol()),
                    accuracy == null ? "-" : scientific(accuracy.maxAbsError()),
                    accuracy == null ? "-" : String.format(Locale.ROOT, "%.2f", accuracy.ulps()),
                    scientific(row.mlxErrorVsFloat64()),
                    (row.passed() ? "pass" : "FAIL") + (row.message().isEmpty() ? "" : ": " + row.message()));
        }
    }

    static void printLegend(PrintWriter out) {
        out.println("vs MLX: max abs difference from MLX's output (pass: <= atol, the case's suggested_atol).");
        out.println("vs float64: max abs error against the formula evaluated in double precision; ulp: the same error"
                + " in ulp(max|x|) for float32 (pass: <= " + wholeNumber(Accuracy.FLOAT32_TARGET_ULPS) + "),"
                + " or in ulps of the output dtype from the correctly rounded result for float16/bfloat16 (pass: <= "
                + wholeNumber(Accuracy.HALF_TARGET_ULPS) + ").");
        out.println("MLX vs f64: MLX's own max abs error against float64, recorded in the manifest.");
    }

    /** Counts the rows that failed. */
    static long failures(List<CheckRow> rows) {
        return rows.stream().filter(row -> !row.passed()).count();
    }

    private static String scientific(double value) {
        return Double.isNaN(value) ? "-" : String.format(Locale.ROOT, "%.2e", value);
    }

    private static String wholeNumber(double value) {
        return String.format(Locale.ROOT, "%.0f", value);
    }
}
