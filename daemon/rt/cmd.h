/* cmd.h - the fixed-size records that cross between the control thread and
 * the audio thread.
 *
 * rt_cmd travels control -> audio in the to_rt ring; rt_msg travels
 * audio -> control in the from_rt ring.  Both are plain data: anything
 * larger than a record is allocated on the control side and passed by
 * pointer, and comes back in rt_msg.garbage to be freed there. */
#ifndef SONOD_RT_CMD_H
#define SONOD_RT_CMD_H

#include <stdint.h>

typedef enum {
  RT_CMD_SYNC = 1,     /* barrier: acknowledged once everything before it is applied */
  RT_CMD_TONE,         /* start or stop the built-in test tone */
  /* Plugin nodes (rt/nodes.c). */
  RT_CMD_NODE_ADD,     /* u.ptr: an rt_node to append */
  RT_CMD_NODE_REMOVE,  /* u.node.id: unlink; the rt_node comes back as garbage */
  RT_CMD_PARAM,        /* u.node: set parameter index to value at the frame */
  RT_CMD_MIDI,         /* u.ptr: an rt_midi_batch (always at_kind NOW) */
  RT_CMD_NODE_EVBUF,   /* u.node.id + u.node.buf: a bigger event buffer */
  /* The routing graph (rt/graph_rt.c). */
  RT_CMD_GRAPH_PLAN,   /* u.ptr: an rt_plan to swap in; the old one comes back as garbage */
  RT_CMD_GRAPH_GAIN,   /* u.node.id: a ramp key, u.node.value: its new target */
  /* Transport and live MIDI (rt/xport.h). */
  RT_CMD_TRANSPORT,    /* u.xport: transport.set / transport.follow at the frame */
  RT_CMD_MIDI_ROUTES,  /* u.ptr: an rt_midi_routes to swap in; the old one comes back as garbage */
  /* Recording the output (rt/rec.h). */
  RT_CMD_RECORD_START, /* u.ptr: an rt_rec to fill from this frame on (always at_kind NOW) */
  RT_CMD_RECORD_STOP,  /* stop; the ack, sent at the block's end, carries the rt_rec as garbage */
  RT_CMD_CANCEL,       /* u.cancel: remove a client's timed commands from the heap */
  /* Streaming a node's audio (rt/capture.h). */
  RT_CMD_CAPTURE_START,/* u.ptr: an rt_capture to fill from this frame on (always at_kind NOW) */
  RT_CMD_CAPTURE_STOP, /* u.ptr: that rt_capture; the ack carries it back as garbage */
} rt_cmd_type;

/* How rt_cmd.at is to be read. */
typedef enum {
  RT_AT_NOW = 0,       /* first frame of the block that receives it */
  RT_AT_ABS,           /* absolute engine frame */
  RT_AT_REL,           /* frames after the first frame of the receiving block */
} rt_at_kind;

typedef struct rt_cmd {
  uint16_t type;       /* rt_cmd_type */
  uint16_t at_kind;    /* rt_at_kind */
  uint32_t client;     /* who asked; 0 = the daemon itself */
  uint64_t req_id;     /* the request id to answer */
  uint64_t at;         /* frames, see at_kind */
  uint64_t seq;        /* arrival order; set by the audio thread */
  union {
    struct {
      double freq;
      double amp;
      int32_t channel; /* -1 = all */
      uint8_t on;
    } tone;
    struct {
      uint32_t id;
      int32_t index;
      float value;
      void *buf;
    } node;
    struct {
      double tempo;
      int64_t frame;
      int32_t num, den;
      uint32_t mask;   /* XPORT_* */
      uint8_t playing;
      uint8_t follow;
    } xport;
    struct {
      uint64_t req_id; /* the request to cancel */
      uint32_t client; /* whose */
      uint8_t all;     /* every timed command of the client instead */
    } cancel;
    void *ptr;
  } u;
} rt_cmd;

typedef enum {
  RT_MSG_ACK = 1,      /* the command was applied, or queued for its time */
  RT_MSG_ERROR,        /* the command was refused; see code */
  RT_MSG_TONE,         /* notification: the tone started or stopped */
  RT_MSG_DONE,         /* a MIDI batch has been fully queued; garbage is it */
  RT_MSG_GRAPH_SETTLED,/* every ramp of plan `value` (its gen) reached its target */
} rt_msg_type;

typedef enum {
  RT_ERR_NONE = 0,
  RT_ERR_LATE,         /* value = how many frames late */
  RT_ERR_HEAP_FULL,
  RT_ERR_UNKNOWN_NODE, /* value = node id */
  RT_ERR_BUSY,         /* a recording is already running; the capture table is full */
} rt_err;

typedef struct rt_msg {
  uint16_t type;       /* rt_msg_type */
  uint16_t code;       /* rt_err for RT_MSG_ERROR */
  uint32_t client;
  uint64_t req_id;
  uint64_t frame;      /* when it was applied or is due */
  uint64_t value;
  uint32_t release;    /* from_rt slots this message returns to the control side */
  uint16_t cmd_type;   /* the rt_cmd_type this message is about */
  uint16_t timed;      /* about a command with a time (at_kind not RT_AT_NOW) */
  double fvalue;
  void *garbage;       /* freed by the control side with garbage_free */
  void (*garbage_free)(void *);
} rt_msg;

/* Every command reserves this many from_rt slots when sent: one for its
 * acknowledgement and one for the notification it may cause later.  The
 * control side never sends a command it cannot reserve for, so the audio
 * thread always finds room for what it must say. */
#define RT_MSG_SLOTS_PER_CMD 2

#endif
