/* A helper library for the attack suite. It is linked with 64 KiB segment
 * alignment (-z max-page-size=0x10000), so ld.so maps it with PROT_NONE gaps
 * between its segments: the "gap" ranges `vmseal run` seals, which an attacker
 * could otherwise map over (MAP_FIXED) or make accessible (mprotect). */
int vmseal_attack_gap_value = 1;
int vmseal_attack_gap_fn(int x) { return x + vmseal_attack_gap_value; }
