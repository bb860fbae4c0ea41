/// A check in front of TOMLKit's parser (its bundled toml++ 3), which aborts the whole process on an internal
/// assertion for some invalid documents, release builds included: a control character inside a table header
/// (`[<ESC>[sink]]`, found by fuzzing) ends `kaspa-sensor` with SIGABRT instead of an error naming the line. TOML
/// allows no control character but tab and line breaks anywhere (not in comments, not unescaped in strings), so
/// refusing them first changes nothing for a valid document.
package enum TOMLDocument {
    /// Throws a ``ConfigurationError`` for `file` naming the line and column of the first control character that
    /// TOML forbids (U+0000–U+001F except tab, LF and CR, and U+007F).
    package static func checkCharacters(_ text: String, file: String) throws(ConfigurationError) {
        var line = 1
        var column = 1
        for scalar in text.unicodeScalars {
            if scalar == "\n" {
                line += 1
                column = 1
                continue
            }
            if (scalar.value < 0x20 && scalar != "\t" && scalar != "\r") || scalar.value == 0x7F {
                let code = String(scalar.value, radix: 16, uppercase: true)
                throw ConfigurationError(
                    file: file, key: "",
                    reason: "not valid TOML at line \(line), column \(column): control character U+"
                        + String(repeating: "0", count: 4 - code.count) + code
                        + " (TOML allows only tab and line breaks)")
            }
            column += 1
        }
    }
}
