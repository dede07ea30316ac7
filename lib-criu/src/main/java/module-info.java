/**
 * Cryo's binding of libcriu (and the few libc calls around it) through the Foreign Function &amp;
 * Memory API. Internal: exported only to Cryo's own modules.
 */
module dev.cryo.criu {
    exports dev.cryo.internal.criu to dev.cryo, dev.cryo.benchmarks;
    exports dev.cryo.internal.os to dev.cryo, dev.cryo.cuda, dev.cryo.benchmarks;
}
