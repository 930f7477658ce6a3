// The benchmark's import-only program: the time and memory it takes to load the library and nothing else.
await import('hotk8s');
