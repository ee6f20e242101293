/* Linked into the sanitizer build of the tests only: the Vulkan loader unloads the driver at
 * vkDestroyInstance, after which LeakSanitizer cannot name the driver's own leaked allocations
 * ("<unknown module>") and tests/lsan.supp cannot suppress them. Keeping libraries loaded lets the
 * report name libvulkan_lvp.so / libLLVM, which the suppressions then cover. Our own leaks are
 * still reported. */
int dlclose(void *handle);
int dlclose(void *handle) {
    (void)handle;
    return 0;
}
