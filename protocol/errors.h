/* errors.h - the stable error codes of the protocol (PROTOCOL.md, section 6). */
#ifndef SONO_PROTOCOL_ERRORS_H
#define SONO_PROTOCOL_ERRORS_H

#define SONO_E_FRAME_TOO_LARGE     "frame_too_large"
#define SONO_E_REPLY_TOO_LARGE     "reply_too_large"
#define SONO_E_BAD_MSGPACK         "bad_msgpack"
#define SONO_E_BAD_REQUEST         "bad_request"
#define SONO_E_UNKNOWN_OP          "unknown_op"
#define SONO_E_MISSING_FIELD       "missing_field"
#define SONO_E_BAD_TYPE            "bad_type"
#define SONO_E_BAD_VALUE           "bad_value"
#define SONO_E_UNKNOWN_EVENT       "unknown_event"
#define SONO_E_UNSUPPORTED_VERSION "unsupported_version"
#define SONO_E_QUEUE_FULL          "queue_full"
#define SONO_E_HEAP_FULL           "heap_full"
#define SONO_E_LATE                "late"
#define SONO_E_NOT_SUPPORTED       "not_supported"
#define SONO_E_BUSY                "busy"
#define SONO_E_SHUTTING_DOWN       "shutting_down"
#define SONO_E_UNKNOWN_NODE        "unknown_node"
#define SONO_E_LOAD_FAILED         "load_failed"
#define SONO_E_UNKNOWN_PARAM       "unknown_param"
#define SONO_E_LIMIT               "limit"
#define SONO_E_INTERNAL            "internal"
/* The live Csound engine (PROTOCOL.md, "Csound"). */
#define SONO_E_CSOUND_ERROR        "csound_error"
#define SONO_E_UNKNOWN_INSTR       "unknown_instr"
#define SONO_E_UNKNOWN_SYNTH       "unknown_synth"
#define SONO_E_UNKNOWN_BUS         "unknown_bus"
#define SONO_E_UNKNOWN_TABLE       "unknown_table"
#define SONO_E_FILE_ERROR          "file_error"
/* Session state (STATE.md): a state file cut short, corrupted or of
 * another format or version. */
#define SONO_E_BAD_STATE           "bad_state"
/* The routing graph (PROTOCOL.md, "Graph"). */
#define SONO_E_UNKNOWN_PORT        "unknown_port"
#define SONO_E_CYCLE               "cycle"
#define SONO_E_NOT_CONNECTED       "not_connected"
/* Recording (PROTOCOL.md, "Recording"): record.stop with none running. */
#define SONO_E_NOT_RECORDING       "not_recording"
#define SONO_E_UNKNOWN_CAPTURE     "unknown_capture"
/* TCP with a token (PROTOCOL.md, "Authentication"): a request before a
 * successful hello, or a hello without the right token. */
#define SONO_E_UNAUTHORIZED        "unauthorized"
/* Confinement (PROTOCOL.md, "Threat model"): a plugin outside the plugin
 * paths, a Csound opcode refused without csound-unsafe. */
#define SONO_E_DENIED              "denied"
/* A call into a plugin that did not return within its deadline; the node
 * is unusable from then on (PROTOCOL.md, "Plugins"). */
#define SONO_E_TIMEOUT             "timeout"
/* An isolated plugin's host process died during the call (plugin.crashed). */
#define SONO_E_CRASHED             "crashed"

#define SONO_PROTOCOL_VERSION 1

#endif
