package dev.cryo.internal.checkpoint;

import dev.cryo.Checkpointer;
import dev.cryo.internal.LaunchHandoff;
import dev.cryo.internal.Logs;
import dev.cryo.internal.os.LibC;
import java.nio.file.Path;
import org.slf4j.Logger;

/**
 * A restored process takes stdin, stdout and stderr from the launcher that restored it,
 * descriptor by descriptor. CRIU maps an inherited file by what it is (a pipe, a path), not by
 * descriptor: an app dumped with {@code 2>&1}, or with two of them on {@code /dev/null}, has one
 * file behind two descriptors and would get the launcher's stdout on both. Nothing to do before
 * the dump.
 */
record StdioStep(Path store) implements Step<Done> {
    private static final Logger LOG = Logs.get(Checkpointer.class);

    @Override
    public String name() {
        return "stdio";
    }

    @Override
    public Done run() {
        return new Done() {
            @Override
            public void afterRestore(Resumption r) {
                takeLaunchersStdio(store);
            }
        };
    }

    private static void takeLaunchersStdio(Path store) {
        long launcher = LaunchHandoff.restoringLauncher(store, ProcessHandle.current().pid());
        // Only from the launcher that restored this process, which is its parent.
        if (launcher <= 0 || ProcessHandle.current().parent().map(ProcessHandle::pid).orElse(-1L) != launcher) {
            return;
        }
        for (int fd = 0; fd <= 2; fd++) {
            try {
                int copy = LibC.descriptorOf((int) launcher, fd);
                LibC.dup2(copy, fd);
                LibC.close(copy);
            } catch (RuntimeException e) {
                // The launcher's descriptor is closed, or this kernel has no pidfd_getfd (before 5.6):
                // this one stays as CRIU restored it.
                LOG.debug("Descriptor {} stays as restored: {}", fd, e.getMessage());
            }
        }
    }
}
