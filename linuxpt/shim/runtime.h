/* linuxpt runtime services for harness.c (C library side). */
#ifndef LINUXPT_RUNTIME_H
#define LINUXPT_RUNTIME_H
#include <stdint.h>
#include <stdio.h>

extern long linuxpt_live_tables; /* table allocations (pages, kmem_cache objects) live now */
extern long linuxpt_warnings;    /* WARN_ON/WARN/WARN_ONCE hits so far */
/* The (after+1)-th table allocation from now fails, once; a negative value disarms. */
void linuxpt_fail_alloc(long after);
/* Is [phys, phys + len) inside the table arena (so dump may read it)? */
int linuxpt_in_arena(uint64_t phys, uint64_t len);
/* Print ,"tlb":[...] for the commands issued since the last call, if any. */
void linuxpt_tlb_emit(FILE *out);
#endif
