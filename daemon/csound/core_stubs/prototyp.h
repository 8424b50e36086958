/* Stand-in for Csound's private H/prototyp.h (not installed): only
 * function prototypes, none of which cs_core.c calls.  See cs_core.c. */
