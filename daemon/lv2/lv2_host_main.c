/* lv2_host_main.c - sonod-plugin-host's main: the VST2 layer's host program
 * (daemon/vst/vst_host_main.c) with LV2's opener, so an isolated LV2 plugin
 * runs in its own process through the same daemon/lv2 code as in the
 * daemon (lilv, its worker thread, state, presets), behind the same proxy. */
#include "daemon/lv2/lv2.h"
#include "daemon/vst/vst_remote.h"

int main(int argc, char **argv) {
  static const vst_host_format lv2 = {
      .prepare = lv2_host_prepare,
      .open_effect = lv2_open_effect,
      .control_outputs = lv2_output_values,
      .message_in = lv2_host_message_in,
      .message_out = lv2_host_message_out,
  };

  return vst_host_main(argc, argv, &lv2);
}
