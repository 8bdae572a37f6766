//! MQTT topic trie (work in progress: issue 3).
