/**
 * Cryo: a JVM checkpoints itself, with its CUDA state, once its start-up is done, and later starts
 * are restored from that snapshot. The API is the package {@code dev.cryo}; see its package-info.
 */
module dev.cryo {
    requires dev.cryo.criu;
    requires dev.cryo.cuda;
    requires org.slf4j;
    uses org.slf4j.spi.SLF4JServiceProvider; // Logs looks for a provider before starting SLF4J
    requires jdk.management; // the heap free ratios, lowered for the GC before a dump (CollectGarbageStep)
    requires jdk.attach; // cryo checkpoint PID loads Cryo's agent into a running JVM
    requires jdk.unsupported; // sun.misc.Signal: the launcher passes SIGTERM/SIGINT on to the app

    exports dev.cryo;
    // CRaC's API, so that org.crac (which looks for javax.crac) runs on Cryo on a stock JDK.
    exports javax.crac;
}
