/// Checks in front of TOMLKit's parser (its bundled toml++ 3), which aborts the whole process on an internal
/// assertion for some invalid documents, release builds included: a table header whose key starts with a
/// character that cannot start a key (`[$[sink]]`, `[<ESC>[sink]]`, found by fuzzing), or a `}` where an array
/// value is expected (`a = [ }`), ends `kaspa-sensor` with SIGABRT instead of an error naming the line. Both checks refuse only what TOML 1.0 forbids, so a valid document
/// is unaffected.
package enum TOMLDocument {
    /// Both checks: ``checkCharacters(_:file:)`` and ``checkTableHeaders(_:file:)``.
    package static func check(_ text: String, file: String) throws(ConfigurationError) {
        try checkCharacters(text, file: file)
        try checkTableHeaders(text, file: file)
    }

    /// Throws for a table header (`[key]`, `[[key]]` at the top level) whose key does not start with a bare-key
    /// character or a quote, and for a `}` directly inside an array: the cases toml++ asserts on. Strings, comments, and the lines of multi-line arrays and
    /// inline tables are skipped, as the parser does (a line of a nested array may start with `[ [`).
    package static func checkTableHeaders(_ text: String, file: String) throws(ConfigurationError) {
        let bytes = Array(text.utf8)
        // The parser skips a byte order mark; so does the check, or a header right after one would escape it.
        var index = bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? 3 : 0
        var line = 1
        var lineStart = index
        // The arrays (`[`) and inline tables (`{`) open at this point, innermost last.
        var open: [UInt8] = []
        var atLineStart = true
        func skip(while condition: (UInt8) -> Bool) {
            while index < bytes.count, condition(bytes[index]) { index += 1 }
        }
        while index < bytes.count {
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "\n"):
                line += 1
                index += 1
                lineStart = index
                atLineStart = true
                continue
            case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\r"):
                index += 1
                continue
            case UInt8(ascii: "#"):
                skip { $0 != UInt8(ascii: "\n") }
                continue
            case UInt8(ascii: "\""), UInt8(ascii: "'"):
                skipString(bytes, &index, &line, &lineStart)
            case UInt8(ascii: "[") where open.isEmpty && atLineStart:
                var next = afterBlanks(bytes, index + 1)
                if next == index + 1, next < bytes.count, bytes[next] == UInt8(ascii: "[") {
                    next = afterBlanks(bytes, next + 1)
                }
                if next < bytes.count, !startsKey(bytes[next]), bytes[next] != UInt8(ascii: "]") {
                    throw ConfigurationError(
                        file: file, key: "",
                        reason: "not valid TOML at line \(line), column \(next - lineStart + 1): a table header's key "
                            + "must start with a letter, digit, '_', '-' or a quote")
                }
                skip { $0 != UInt8(ascii: "\n") }
                continue
            case UInt8(ascii: "["), UInt8(ascii: "{"):
                open.append(byte)
                index += 1
            case UInt8(ascii: "}") where open.last == UInt8(ascii: "["):
                // Only an inline table's end is a '}', so TOML never has one directly in an array; toml++ asserts
                // on it where a value is expected (`a = [ }`, found by fuzzing plugins.toml).
                throw ConfigurationError(
                    file: file, key: "",
                    reason: "not valid TOML at line \(line), column \(index - lineStart + 1): '}' inside an array")
            case UInt8(ascii: "]"), UInt8(ascii: "}"):
                _ = open.popLast()
                index += 1
            default:
                index += 1
            }
            atLineStart = false
        }
    }

    /// The index of the first byte at or after `index` that is not a space or tab.
    private static func afterBlanks(_ bytes: [UInt8], _ index: Int) -> Int {
        var index = index
        while index < bytes.count, bytes[index] == UInt8(ascii: " ") || bytes[index] == UInt8(ascii: "\t") {
            index += 1
        }
        return index
    }

    /// A TOML 1.0 bare key character (ASCII letters, digits, `_`, `-`) or a quote.
    private static func startsKey(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "-"), UInt8(ascii: "\""),
            UInt8(ascii: "'"):
            return true
        default:
            return false
        }
    }

    /// Moves `index` past the string starting there (basic or literal, single- or multi-line; an unterminated
    /// single-line string ends at the line break, where the parser reports it), counting the lines it spans.
    private static func skipString(_ bytes: [UInt8], _ index: inout Int, _ line: inout Int, _ lineStart: inout Int) {
        let quote = bytes[index]
        let basic = quote == UInt8(ascii: "\"")
        let multiLine = index + 2 < bytes.count && bytes[index + 1] == quote && bytes[index + 2] == quote
        index += multiLine ? 3 : 1
        while index < bytes.count {
            let byte = bytes[index]
            if basic && byte == UInt8(ascii: "\\") {
                index += 2
                continue
            }
            if byte == UInt8(ascii: "\n") {
                guard multiLine else { return }
                line += 1
                lineStart = index + 1
            }
            if byte == quote {
                if !multiLine {
                    index += 1
                    return
                }
                if index + 2 < bytes.count && bytes[index + 1] == quote && bytes[index + 2] == quote {
                    index += 3
                    // Up to two more quotes belong to the content (`""""` ends with one quote inside).
                    while index < bytes.count && bytes[index] == quote { index += 1 }
                    return
                }
            }
            index += 1
        }
    }

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
