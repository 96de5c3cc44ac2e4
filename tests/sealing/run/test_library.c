/* A library the `vmseal run` tests dlopen: built plain, with -z nodelete,
 * and with -z execstack. */
int vmseal_test_function(void) { return 42; }
