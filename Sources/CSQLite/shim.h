#include <sqlite3.h>

// sqlite3_db_config is variadic, which Swift cannot call; this fixes the (int, int*) form.
static inline int kseal_sqlite3_db_config_int(sqlite3 *db, int op, int value) {
    return sqlite3_db_config(db, op, value, (int *)0);
}

// sqlite3_config is variadic too: the (unsigned) form of SQLITE_CONFIG_PMASZ.
static inline int kseal_sqlite3_config_pmasz(unsigned pages) {
    return sqlite3_config(SQLITE_CONFIG_PMASZ, pages);
}
