//! Sans-IO MQTT session and QoS state machine (work in progress: issue 4).
