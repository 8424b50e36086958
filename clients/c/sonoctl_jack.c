/* sonoctl_jack.c - the transport, live MIDI routing and JACK freewheel from
 * the command line (PROTOCOL.md, "Transport, live MIDI and freewheel"):
 *
 *   sonoctl transport [get]
 *   sonoctl transport set [--tempo BPM] [--sig N/D] [--play|--stop]
 *                         [--frame F] [--at F | --delay S]
 *   sonoctl transport follow on|off
 *   sonoctl midi route NODE [--channel C]
 *   sonoctl midi route csound --instr NAME [--note P] [--velocity P] [--channel C]
 *                              [--voices N]
 *   sonoctl midi unroute NODE | csound --instr NAME
 *   sonoctl midi routes
 *   sonoctl freewheel on|off
 *
 * One connection and one request per command.  With --json the reply's ok
 * map is printed as one line of JSON. */
#include "sonoctl.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ transport */

static int transport_usage(void) {
  fputs("usage: sonoctl transport [get]\n"
        "       sonoctl transport set [--tempo BPM] [--sig N/D] [--play|--stop] [--frame F]\n"
        "                             [--at FRAME | --delay SECONDS]\n"
        "       sonoctl transport follow on|off\n",
        stdout);
  return CTL_OK;
}

int ctl_cmd_transport(ctl *g, int argc, char **argv) {
  static const struct option opts[] = {
    {"tempo", required_argument, NULL, 't'},
    {"sig", required_argument, NULL, 's'},
    {"play", no_argument, NULL, 'p'},
    {"stop", no_argument, NULL, 'S'},
    {"frame", required_argument, NULL, 'f'},
    {"at", required_argument, NULL, 'A'},
    {"delay", required_argument, NULL, 'd'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
  };
  ctl_when w = {0, 0, 0};
  double tempo = 0;
  uint64_t frame = 0;
  int num = 0, den = 0, play = -1, ch, npos, rc;
  const char *why;
  bool has_tempo = false, has_sig = false, has_frame = false, on = false;
  const char *verb;
  sono_args *a;
  sono_reply *r;

  while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
    switch (ch) {
    case 't':
      if (!ctl_parse_double(optarg, &tempo) || tempo <= 0)
        return ctl_usage(argv[0], "--tempo wants BPM, not '%s'", optarg);
      has_tempo = true;
      break;
    case 's': {
      char *slash = strchr(optarg, '/');

      if (slash == NULL)
        return ctl_usage(argv[0], "--sig wants N/D, like 3/4, not '%s'", optarg);
      *slash = '\0';
      if (!ctl_parse_int(optarg, &num) || !ctl_parse_int(slash + 1, &den) || num < 1 ||
          den < 1) {
        *slash = '/';
        return ctl_usage(argv[0], "--sig wants N/D, like 3/4, not '%s'", optarg);
      }
      has_sig = true;
      break;
    }
    case 'p':
    case 'S':
      if (play >= 0)
        return ctl_usage(argv[0], "give --play or --stop once");
      play = ch == 'p';
      break;
    case 'f':
      if (!ctl_parse_u64(optarg, &frame))
        return ctl_usage(argv[0], "--frame wants a frame number, not '%s'", optarg);
      has_frame = true;
      break;
    case 'A':
    case 'd':
      if (w.kind != 0)
        return ctl_usage(argv[0], "give --at or --delay once");
      if ((why = ctl_parse_when(&w, ch, optarg)) != NULL)
        return ctl_usage(argv[0], why, optarg);
      break;
    case 'h':
      return transport_usage();
    default:
      return CTL_USAGE;
    }
  }
  npos = argc - optind;
  verb = npos > 0 ? argv[optind] : "get";
  if (strcmp(verb, "set") != 0 &&
      (has_tempo || has_sig || has_frame || play >= 0 || w.kind != 0))
    return ctl_usage(argv[0], "--tempo, --sig, --play, --stop, --frame, --at and --delay are "
                              "for set");
  if (strcmp(verb, "get") == 0) {
    if (npos > 1)
      return ctl_usage(argv[0], "get takes no arguments");
    r = ctl_call(g, "transport.get", NULL, &rc);
    return r == NULL ? rc : ctl_print_reply(g, r);
  }
  if (strcmp(verb, "set") == 0) {
    if (npos != 1)
      return ctl_usage(argv[0], "set takes options only");
    if (!has_tempo && !has_sig && !has_frame && play < 0)
      return ctl_usage(argv[0], "set wants --tempo, --sig, --play, --stop or --frame");
    a = sono_args_new();
    if (a == NULL)
      return CTL_FAIL;
    if (has_tempo)
      sono_args_double(a, "tempo", tempo);
    if (has_sig) {
      sono_args_uint(a, "num", (uint64_t)num);
      sono_args_uint(a, "den", (uint64_t)den);
    }
    if (play >= 0)
      sono_args_bool(a, "playing", play == 1);
    if (has_frame)
      sono_args_uint(a, "frame", frame);
    ctl_args_when(a, &w);
    return ctl_send_print(g, "transport.set", a, "transport set");
  }
  if (strcmp(verb, "follow") == 0) {
    if (npos != 2 || !ctl_parse_onoff(argv[optind + 1], &on))
      return ctl_usage(argv[0], "follow wants on or off");
    a = sono_args_new();
    if (a == NULL)
      return CTL_FAIL;
    sono_args_bool(a, "on", on);
    return ctl_send_print(g, "transport.follow", a, on ? "following JACK transport"
                                                   : "not following JACK transport");
  }
  return ctl_usage(argv[0], "unknown verb '%s' (get, set, follow)", verb);
}

/* ----------------------------------------------------------------- midi */

static int midi_usage(void) {
  fputs("usage: sonoctl midi route NODE [--channel C]\n"
        "       sonoctl midi route csound --instr NAME [--note PARAM] [--velocity PARAM]"
        " [--channel C] [--voices N]\n"
        "       sonoctl midi unroute NODE | csound --instr NAME\n"
        "       sonoctl midi routes\n"
        "NODE is a plugin node's id (graph); C is a MIDI channel 0..15 (default: all);\n"
        "N is how many notes of the instrument may sound at once (1..1024, default 32)\n",
        stdout);
  return CTL_OK;
}

/* The routes, one per line:
 * "TO  channel C|all  [instr NAME note P velocity P voices N]". */
static void print_routes(const msgpack_object *body) {
  const msgpack_object *arr = sono_obj_get(body, "routes");
  uint32_t i;

  if (arr == NULL || arr->type != MSGPACK_OBJECT_ARRAY)
    return;
  if (arr->via.array.size == 0)
    printf("no routes\n");
  for (i = 0; i < arr->via.array.size; i++) {
    const msgpack_object *m = &arr->via.array.ptr[i];
    const msgpack_object *chan = sono_obj_get(m, "channel");
    char to[64] = "?", instr[128] = "", note[64] = "", vel[64] = "";
    char cbuf[16];
    uint64_t nv;

    sono_obj_strcpy(m, "to", to, sizeof to);
    if (chan != NULL && chan->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
      snprintf(cbuf, sizeof cbuf, "%llu", (unsigned long long)chan->via.u64);
    else
      snprintf(cbuf, sizeof cbuf, "all");
    printf("%-8s channel %-4s", to, cbuf);
    if (sono_obj_strcpy(m, "instr", instr, sizeof instr) == 0) {
      sono_obj_strcpy(m, "note", note, sizeof note);
      sono_obj_strcpy(m, "velocity", vel, sizeof vel);
      printf(" instr %s", instr);
      if (note[0] != '\0')
        printf(" note %s", note);
      if (vel[0] != '\0')
        printf(" velocity %s", vel);
      if (sono_obj_uint(m, "voices", &nv) == 0)
        printf(" voices %llu", (unsigned long long)nv);
    }
    printf("\n");
  }
  fflush(stdout);
}

int ctl_cmd_midi(ctl *g, int argc, char **argv) {
  static const struct option opts[] = {
    {"channel", required_argument, NULL, 'c'},
    {"instr", required_argument, NULL, 'i'},
    {"note", required_argument, NULL, 'n'},
    {"velocity", required_argument, NULL, 'v'},
    {"voices", required_argument, NULL, 'V'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
  };
  const char *instr = NULL, *note = NULL, *vel = NULL, *verb, *to;
  int channel = -1, voices = 0, ch, npos, rc;
  uint64_t id;
  sono_args *a;
  sono_reply *r;
  char what[200];

  while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
    switch (ch) {
    case 'c':
      if (!ctl_parse_int(optarg, &channel) || channel < 0 || channel > 15)
        return ctl_usage(argv[0], "--channel wants 0..15, not '%s'", optarg);
      break;
    case 'i':
      instr = optarg;
      break;
    case 'n':
      note = optarg;
      break;
    case 'v':
      vel = optarg;
      break;
    case 'V':
      if (!ctl_parse_int(optarg, &voices) || voices < 1 || voices > 1024)
        return ctl_usage(argv[0], "--voices wants 1..1024, not '%s'", optarg);
      break;
    case 'h':
      return midi_usage();
    default:
      return CTL_USAGE;
    }
  }
  npos = argc - optind;
  if (npos < 1)
    return ctl_usage(argv[0], "wants a verb: route, unroute, routes");
  verb = argv[optind];
  if (strcmp(verb, "routes") == 0) {
    if (npos != 1 || channel >= 0 || instr || note || vel || voices)
      return ctl_usage(argv[0], "routes takes no arguments");
    r = ctl_call(g, "midi.routes", NULL, &rc);
    if (r == NULL)
      return rc;
    if (g->json)
      ctl_print_json(sono_reply_body(r));
    else
      print_routes(sono_reply_body(r));
    sono_reply_free(r);
    return CTL_OK;
  }
  if (strcmp(verb, "route") != 0 && strcmp(verb, "unroute") != 0)
    return ctl_usage(argv[0], "unknown verb '%s' (route, unroute, routes)", verb);
  if (npos != 2)
    return ctl_usage(argv[0], "%s wants a plugin node id or csound", verb);
  to = argv[optind + 1];
  if (strcmp(to, "csound") == 0 && instr == NULL)
    return ctl_usage(argv[0], "%s csound wants --instr NAME", verb);
  if (strcmp(to, "csound") != 0 && (instr || note || vel || voices))
    return ctl_usage(argv[0], "--instr, --note, --velocity and --voices are for csound");
  if (verb[0] == 'u' && (channel >= 0 || note || vel || voices))
    return ctl_usage(argv[0], "unroute takes the target only (and --instr for csound)");
  a = sono_args_new();
  if (a == NULL)
    return CTL_FAIL;
  if (ctl_parse_u64(to, &id))
    sono_args_uint(a, "to", id);
  else
    sono_args_str(a, "to", to);
  if (instr != NULL)
    sono_args_str(a, "instr", instr);
  if (note != NULL)
    sono_args_str(a, "note", note);
  if (vel != NULL)
    sono_args_str(a, "velocity", vel);
  if (channel >= 0)
    sono_args_uint(a, "channel", (uint64_t)channel);
  if (voices > 0)
    sono_args_uint(a, "voices", (uint64_t)voices);
  snprintf(what, sizeof what, "%s %s%s%s", verb[0] == 'u' ? "unrouted" : "routed", to,
           instr ? " instr " : "", instr ? instr : "");
  return ctl_send_print(g, verb[0] == 'u' ? "midi.unroute" : "midi.route", a, what);
}

/* ------------------------------------------------------------ freewheel */

int ctl_cmd_freewheel(ctl *g, int argc, char **argv) {
  sono_args *a;
  bool on;

  if (argc == 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0))
    return ctl_help(argv[0]);
  if (argc != 2 || !ctl_parse_onoff(argv[1], &on))
    return ctl_usage(argv[0], "wants on or off");
  a = sono_args_new();
  if (a == NULL)
    return CTL_FAIL;
  sono_args_bool(a, "on", on);
  return ctl_send_print(g, "engine.freewheel", a, on ? "freewheel on" : "freewheel off");
}
