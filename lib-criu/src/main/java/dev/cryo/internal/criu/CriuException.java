package dev.cryo.internal.criu;

import dev.cryo.internal.os.LibC;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * A libcriu call failed. Carries the function, its return code (libcriu returns {@code -errno}),
 * the code's symbolic name, the errno CRIU itself reported, and the last error lines of CRIU's log.
 */
public final class CriuException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final String function;
    private final int code;
    private final String codeName;
    private final int criuErrno;
    private final transient Path log;
    private final List<String> logTail;

    public CriuException(String function, int code, int criuErrno, Path log, List<String> logTail) {
        super(message(function, code, criuErrno, log, logTail));
        this.function = function;
        this.code = code;
        this.codeName = LibC.errnoName(-code);
        this.criuErrno = criuErrno;
        this.log = log;
        this.logTail = List.copyOf(logTail);
    }

    private static String message(String function, int code, int criuErrno, Path log, List<String> tail) {
        StringBuilder sb = new StringBuilder(String.format(Locale.ROOT, "%s returned %d (%s: %s)",
                function, code, LibC.errnoName(-code), meaning(code)));
        if (criuErrno > 0) {
            sb.append(String.format(Locale.ROOT, "; CRIU reported errno %d (%s: %s)",
                    criuErrno, LibC.errnoName(criuErrno), LibC.strerror(criuErrno)));
        }
        if (!tail.isEmpty()) {
            sb.append("; last lines of CRIU's log");
            if (log != null) {
                sb.append(" (").append(log).append(')');
            }
            sb.append(':');
            for (String line : tail) {
                sb.append("\n    ").append(line);
            }
        } else if (log != null) {
            sb.append("; CRIU's log: ").append(log);
        }
        return sb.toString();
    }

    // libcriu's documented return codes (criu.h) say more than strerror does.
    private static String meaning(int code) {
        return switch (-code) {
            case 52 -> "CRIU ran and failed; its log says why";                      // EBADE
            case 111 -> "could not start or reach the CRIU service binary";          // ECONNREFUSED
            case 70 -> "lost the connection to CRIU (it crashed or was killed)";     // ECOMM
            case 22 -> "this CRIU does not support the request: update CRIU";        // EINVAL
            case 74 -> "unexpected answer from CRIU: update CRIU";                    // EBADMSG
            default -> LibC.strerror(-code);
        };
    }

    /** The libcriu function that failed. */
    public String function() {
        return function;
    }

    /** Its return code ({@code -errno}). */
    public int code() {
        return code;
    }

    /** The symbolic name of {@code -code()}, such as {@code EBADE}. */
    public String codeName() {
        return codeName;
    }

    /** The errno CRIU reported for the failure, or 0 when it reported none. */
    public int criuErrno() {
        return criuErrno;
    }

    /** CRIU's log file, or null. */
    public Path log() {
        return log;
    }

    /** The last error lines of CRIU's log. */
    public List<String> logTail() {
        return logTail;
    }

    /** True when CRIU's failure (or its log) says the disk ran full. */
    public boolean isNoSpace() {
        return criuErrno == 28 || logTail.stream().anyMatch(l -> l.contains("No space left on device"));
    }
}
