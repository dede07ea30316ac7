package dev.cryo.internal.checkpoint;

import dev.cryo.internal.os.LibC;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * stdin, stdout and stderr that are a terminal, set aside while CRIU dumps. A terminal belongs to
 * the session of the shell that started the app, which is not in the image, and CRIU cannot
 * restore it elsewhere ("tty: No task found with sid", even in shell-job mode and with the
 * terminal marked external). So the dump sees {@code /dev/null} there; the original takes its
 * terminal back by path right after, and a restored copy takes its launcher's stdio ({@link StdioStep}).
 */
final class TerminalStdio {
    private final Map<Integer, String> terminals;

    private TerminalStdio(Map<Integer, String> terminals) {
        this.terminals = terminals;
    }

    /** Puts {@code /dev/null} on each of descriptors 0-2 that is a terminal; remembers which. */
    static TerminalStdio setAside() {
        Map<Integer, String> terminals = new LinkedHashMap<>();
        for (int fd = 0; fd <= 2; fd++) {
            try {
                String target = Files.readSymbolicLink(Path.of("/proc/self/fd/" + fd)).toString();
                if (target.startsWith("/dev/pts/") || target.startsWith("/dev/tty") || target.equals("/dev/console")) {
                    terminals.put(fd, target);
                }
            } catch (IOException | UnsupportedOperationException e) {
                // closed: nothing to set aside
            }
        }
        if (!terminals.isEmpty()) {
            int nul = LibC.open("/dev/null", LibC.O_RDWR);
            try {
                terminals.keySet().forEach(fd -> LibC.dup2(nul, fd));
            } finally {
                LibC.close(nul);
            }
        }
        return new TerminalStdio(terminals);
    }

    /** In the original after its dump: each descriptor gets its terminal again. */
    void takeBack() {
        terminals.forEach((fd, path) -> {
            int t = LibC.open(path, LibC.O_RDWR | LibC.O_NOCTTY);
            try {
                LibC.dup2(t, fd);
            } finally {
                LibC.close(t);
            }
        });
    }
}
