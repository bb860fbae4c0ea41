import CSQLite
import PluginSupport
import SensorPluginAPI

/// Brings a database to ``SQLiteSchema/latestVersion``, one migration per transaction, recording progress in
/// `PRAGMA user_version`. Refuses databases written by a newer version of the plugin.
struct SQLiteMigrator {
    /// The connection to migrate.
    let connection: SQLiteConnection
    /// Where progress and failures are reported.
    let log: HostLog
    /// The database path, for messages.
    let path: String

    /// Migrates; returns `nil` on success or the status `create()` should return (after logging why).
    func migrate() -> Int32? {
        let current: Int64
        do {
            current = try connection.integer("PRAGMA user_version")
        } catch {
            log.write(SENSOR_LOG_ERROR, "sqlite sink: cannot read the schema version of \(path): \(error.message)")
            return error.status == SENSOR_FATAL ? SENSOR_BAD_CONFIG : SENSOR_FATAL
        }
        guard current <= Int64(SQLiteSchema.latestVersion) else {
            log.write(
                SENSOR_LOG_ERROR,
                "sqlite sink: \(path) has schema version \(current), newer than the \(SQLiteSchema.latestVersion) "
                    + "this plugin knows; use a newer plugin or another database path"
            )
            return SENSOR_BAD_CONFIG
        }
        for migration in SQLiteSchema.migrations where Int64(migration.version) > current {
            do {
                try connection.execute("BEGIN IMMEDIATE")
                for statement in SQLiteSchema.statements(for: migration) {
                    try connection.execute(statement)
                }
                try connection.execute("PRAGMA user_version = \(migration.version)")
                try connection.execute("COMMIT")
                log.write(SENSOR_LOG_INFO, "sqlite sink: migrated \(path) to schema version \(migration.version)")
            } catch {
                if sqlite3_get_autocommit(connection.handle) == 0 {
                    try? connection.execute("ROLLBACK")
                }
                log.write(
                    SENSOR_LOG_ERROR,
                    "sqlite sink: migrating \(path) to schema version \(migration.version) failed: \(error.message)"
                )
                return SENSOR_FATAL
            }
        }
        return nil
    }
}
