/* noentry.c - a shared object that is not a VST2 plugin: it exports
 * neither VSTPluginMain nor main. */
__attribute__((visibility("default"))) int sonod_not_a_plugin(void);
int sonod_not_a_plugin(void) { return 42; }
