/* Stand-in for Csound's private H/sort.h, which its -dev package does not
 * install: csoundCore.h only needs the name of the score block type, used
 * through pointers.  See cs_core.c. */
typedef struct srtblk SRTBLK;
