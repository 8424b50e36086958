/* Stand-in for Csound's private H/remote.h (not installed): csoundCore.h
 * holds one REMOT_BUF by value, after every field cs_core.c touches (its
 * size changes no offset used here).  See cs_core.c. */
typedef struct { int len, type; char data[1]; } REMOT_BUF;
