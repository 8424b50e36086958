/* Stand-in for Csound's private H/envvar.h (not installed): csoundCore.h
 * needs SNDFILE from it.  See cs_core.c. */
#include <sndfile.h>
