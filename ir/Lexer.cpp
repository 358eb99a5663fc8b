// Lexer: see Parser.cpp.
