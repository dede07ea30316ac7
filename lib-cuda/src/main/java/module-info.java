/**
 * Cryo's binding of libcuda's checkpoint API (and the device queries around it) through the
 * Foreign Function &amp; Memory API. Internal: exported only to Cryo's own module.
 */
module dev.cryo.cuda {
    exports dev.cryo.internal.cuda to dev.cryo;
}
