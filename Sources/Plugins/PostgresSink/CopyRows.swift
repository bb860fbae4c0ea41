import PluginSupport
import SensorPluginAPI

/// Rows in the text format of `COPY … FROM STDIN`: columns separated by tabs, rows by newlines, NULL as `\N`,
/// and backslash, tab, newline and carriage return escaped. Built in one growing byte buffer that is reused from
/// batch to batch.
///
/// PostgreSQL's `text` cannot hold a NUL byte, which a peer's user agent can: a NUL is written as U+FFFD, so that
/// one peer's string cannot make a whole batch fail.
struct CopyRows {
    /// The encoded rows.
    private(set) var bytes: [UInt8] = []
    /// How many rows were ended.
    private(set) var count = 0
    private var columnsInRow = 0

    /// Forgets the rows, keeping the buffer.
    mutating func removeAll() {
        bytes.removeAll(keepingCapacity: true)
        count = 0
        columnsInRow = 0
    }

    /// Ends the current row.
    mutating func endRow() {
        bytes.append(UInt8(ascii: "\n"))
        count += 1
        columnsInRow = 0
    }

    /// Appends NULL.
    mutating func null() {
        separate()
        bytes.append(UInt8(ascii: "\\"))
        bytes.append(UInt8(ascii: "N"))
    }

    /// Appends an integer.
    mutating func integer(_ value: Int64) {
        separate()
        if value < 0 { bytes.append(UInt8(ascii: "-")) }
        var magnitude = value.magnitude
        var digits = (UInt64(0), UInt64(0), UInt64(0))  // 24 bytes: room for 20 digits
        withUnsafeMutableBytes(of: &digits) { buffer in
            var position = buffer.count
            repeat {
                position -= 1
                buffer[position] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
            } while magnitude > 0
            bytes.append(contentsOf: buffer[position...])
        }
    }

    /// Appends a double in a form PostgreSQL reads back exactly (`NaN` and `Infinity` spelled its way).
    mutating func real(_ value: Double) {
        separate()
        if value.isNaN {
            bytes.append(contentsOf: "NaN".utf8)
        } else if value.isInfinite {
            bytes.append(contentsOf: (value < 0 ? "-Infinity" : "Infinity").utf8)
        } else {
            bytes.append(contentsOf: value.description.utf8)
        }
    }

    /// Appends a boolean.
    mutating func boolean(_ value: Bool) {
        separate()
        bytes.append(value ? UInt8(ascii: "t") : UInt8(ascii: "f"))
    }

    /// Appends UTF-8 text, escaped.
    mutating func text(_ text: UnsafeRawBufferPointer) {
        separate()
        var runStart = 0
        for (index, byte) in text.enumerated() {
            let escape: (UInt8, UInt8)?
            switch byte {
            case UInt8(ascii: "\\"): escape = (UInt8(ascii: "\\"), UInt8(ascii: "\\"))
            case UInt8(ascii: "\t"): escape = (UInt8(ascii: "\\"), UInt8(ascii: "t"))
            case UInt8(ascii: "\n"): escape = (UInt8(ascii: "\\"), UInt8(ascii: "n"))
            case UInt8(ascii: "\r"): escape = (UInt8(ascii: "\\"), UInt8(ascii: "r"))
            case 0: escape = nil
            default: continue
            }
            bytes.append(contentsOf: text[runStart..<index])
            if let escape {
                bytes.append(escape.0)
                bytes.append(escape.1)
            } else {
                bytes.append(contentsOf: [0xEF, 0xBF, 0xBD])  // U+FFFD for a NUL
            }
            runStart = index + 1
        }
        bytes.append(contentsOf: text[runStart...])
    }

    /// Appends a Swift string, escaped.
    mutating func text(_ string: String) {
        var string = string
        string.withUTF8 { text(UnsafeRawBufferPointer($0)) }
    }

    /// Appends an event field's value in a column of `kind`: an INT or BOOL field is `t`/`f` in a boolean column
    /// and a number elsewhere; otherwise the field's own type decides.
    mutating func field(_ field: sensor_field, as kind: EventColumns.Kind) {
        switch field.type {
        case SENSOR_FIELD_INT, SENSOR_FIELD_BOOL:
            if kind == .boolean { boolean(field.int_value != 0) } else { integer(field.int_value) }
        case SENSOR_FIELD_FLOAT: real(field.float_value)
        case SENSOR_FIELD_TEXT: text(field.text_value.bytes)
        default: null()
        }
    }

    /// Appends one column per entry of `fieldForColumn`: the event's field at that index as `kinds[column]`, or NULL
    /// for -1.
    mutating func columns(_ event: sensor_event, _ fieldForColumn: [Int], kinds: [EventColumns.Kind]) {
        for (column, field) in fieldForColumn.enumerated() {
            if field < 0 {
                null()
            } else {
                self.field(event.fields[field], as: kinds[column])
            }
        }
    }

    private mutating func separate() {
        if columnsInRow > 0 { bytes.append(UInt8(ascii: "\t")) }
        columnsInRow += 1
    }
}
