package io.jrope.cli;

import io.jrope.golden.Accuracy;

/**
 * One line of the result table: a golden case (or its inverse) on one backend.
 *
 * @param label            case name, with {@code (inverse)} for the gradient check
 * @param dtype            dtype label of the case
 * @param errorVsMlx       max abs difference from MLX's output; NaN when nothing was compared
 * @param atol             the case's suggested_atol; NaN when nothing was compared
 * @param accuracy         distance from the float64 evaluation; null when nothing was compared
 * @param mlxErrorVsFloat64 MLX's own distance from float64, from the manifest; NaN when not recorded
 * @param passed           true when every check of the line held
 * @param message          why the line failed, or the rejection message of an error case; may be empty
 */
record CheckRow(String label, String dtype, double errorVsMlx, double atol, Accuracy accuracy,
                double mlxErrorVsFloat64, boolean passed, String message) {

    /** Creates the line of a case that ran and was compared with MLX and with float64. */
    static CheckRow compared(String label, String dtype, double errorVsMlx, double atol, Accuracy accuracy,
                             double mlxErrorVsFloat64) {
        boolean withinAtol = errorVsMlx <= atol;
        boolean passed = withinAtol && accuracy.meetsTarget();
        String message = "";
        if (Double.isNaN(atol)) {
            message = "the manifest gives no suggested_atol to compare with";
        } else if (!withinAtol) {
            message = "differs from MLX by more than atol";
        }
        if (!accuracy.meetsTarget()) {
            message += (message.isEmpty() ? "" : "; ") + "error vs float64 above the target of "
                    + accuracy.targetUlps() + " ulp";
        }
        return new CheckRow(label, dtype, errorVsMlx, atol, accuracy, mlxErrorVsFloat64, passed, message);
    }

    /** Returns this line with {@code note} added to its message. */
    CheckRow withNote(String note) {
        String combined = message.isEmpty() ? note : message + "; " + note;
        return new CheckRow(label, dtype, errorVsMlx, atol, accuracy, mlxErrorVsFloat64, passed, combined);
    }

    /** Creates the line of a case MLX rejects, with the outcome of running it on jrope. */
    static CheckRow rejection(String label, String dtype, boolean passed, String message) {
        return new CheckRow(label, dtype, Double.NaN, Double.NaN, null, Double.NaN, passed, message);
    }

    /** Creates the line of a case that could not run (unreadable file, unexpected exception). */
    static CheckRow failed(String label, String dtype, String message) {
        return new CheckRow(label, dtype, Double.NaN, Double.NaN, null, Double.NaN, false, message);
    }
}
