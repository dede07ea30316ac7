package dev.cryo.internal.launch;

import dev.cryo.internal.os.LibC;
import java.util.ArrayList;
import java.util.List;
import sun.misc.Signal;

/**
 * Passes the signals an app may be sent on to it, from the launcher's start: until the app
 * exists (a restore in progress), they are held and delivered the moment it does, so that the
 * launcher never dies of a signal and leaves the app an orphan. QUIT cannot be taken from the JVM
 * (it prints the launcher's thread dump and the launcher goes on); KILL and STOP cannot be caught
 * by anyone; job control (TSTP, CONT) acts on the terminal's process group, which holds both.
 */
final class SignalRelay {
    /** Every signal whose default would end the launcher, and WINCH, which a terminal app wants. */
    static final List<String> RELAYED = List.of("TERM", "INT", "HUP", "USR1", "USR2", "ALRM", "WINCH", "PWR",
            "VTALRM", "PROF", "XCPU", "XFSZ", "IO");
    private static final List<String> ENDING = List.of("TERM", "INT", "HUP");

    private int target;
    private final List<Signal> held = new ArrayList<>();

    /** Handles the signals from now on. */
    void install() {
        for (String name : RELAYED) {
            try {
                Signal.handle(new Signal(name), this::received);
            } catch (IllegalArgumentException e) {
                // taken by the JVM here (it runs with -Xrs, say): that signal keeps the JVM's handling
            }
        }
    }

    private synchronized void received(Signal s) {
        if (target > 0) {
            LibC.kill(target, s.getNumber());
        } else {
            held.add(s);
        }
    }

    /** From now on signals go to {@code pid}; those held are delivered now, in order. */
    synchronized void relayTo(int pid) {
        target = pid;
        held.forEach(s -> LibC.kill(pid, s.getNumber()));
        held.clear();
    }

    /** The first held signal that asks the launcher to end (TERM, INT, HUP) while no app was there, or 0. */
    synchronized int heldEnding() {
        return held.stream().filter(s -> ENDING.contains(s.getName())).mapToInt(Signal::getNumber).findFirst()
                .orElse(0);
    }
}
