import Foundation
import TestSupport

/// Paths and scratch folders for tests that load the real `libHTTPExport.so`.
enum TestEnvironment {
    /// The path of the real `libHTTPExport.so`; throws, saying how to build it, if it is missing.
    static func httpExportLibrary() throws -> String {
        try BuiltPlugins.path(of: "libHTTPExport.so")
    }

    /// A fresh, empty scratch folder.
    static func makeTemporaryDirectory() throws -> URL {
        try BuiltPlugins.makeScratchDirectory(prefix: "http-export-tests")
    }
}
