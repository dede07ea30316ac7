/**
 * Cryo's binding of libcriu (and the few libc calls around it) through the Foreign Function &amp;
 * Memory API. Internal: exported only to Cryo's own module.
 */
module dev.cryo.criu {
    exports dev.cryo.internal.criu to dev.cryo;
    exports dev.cryo.internal.os to dev.cryo;
}
