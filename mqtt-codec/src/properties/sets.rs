//! The property sets: one row per set with the properties it allows, in the order they are encoded, each with its
//! duplicate rule (`once` or `many`) and the section of the specification that defines it there. What a property
//! is on the wire (identifier, type, data type) is the table in `ids.rs`.

use crate::properties::macros::property_sets;

property_sets! {
    /// Properties of CONNECT (spec 3.1.2.11).
    ConnectProperties {
        /// Seconds the session outlives the connection; absent means 0.
        session_expiry_interval: once SessionExpiryInterval @ "3.1.2.11.2",
        /// How many QoS 1/2 publications the client processes concurrently (never 0).
        receive_maximum: once ReceiveMaximum @ "3.1.2.11.3",
        /// Largest packet the client accepts (never 0).
        maximum_packet_size: once MaximumPacketSize @ "3.1.2.11.4",
        /// Highest topic alias the client accepts from the server.
        topic_alias_maximum: once TopicAliasMaximum @ "3.1.2.11.5",
        /// Whether the client asks for Response Information in CONNACK.
        request_response_information: once RequestResponseInformation @ "3.1.2.11.6",
        /// Whether the server may send Reason Strings and User Properties on failures.
        request_problem_information: once RequestProblemInformation @ "3.1.2.11.7",
        /// User properties, in order.
        user_properties: many UserProperty @ "3.1.2.11.8",
        /// Name of the extended authentication method.
        authentication_method: once AuthenticationMethod @ "3.1.2.11.9",
        /// Authentication data of that method.
        authentication_data: once AuthenticationData @ "3.1.2.11.10",
    }

    /// Properties of a will message, carried in the CONNECT payload (spec 3.1.3.2).
    WillProperties {
        /// Seconds the server waits after the connection ends before publishing the will.
        will_delay_interval: once WillDelayInterval @ "3.1.3.2.2",
        /// Whether the will payload is UTF-8 text.
        payload_format_indicator: once PayloadFormatIndicator @ "3.1.3.2.3",
        /// Lifetime of the will message in seconds.
        message_expiry_interval: once MessageExpiryInterval @ "3.1.3.2.4",
        /// MIME-like description of the payload.
        content_type: once ContentType @ "3.1.3.2.5",
        /// Topic for a response (a topic name: no wildcards).
        response_topic: once ResponseTopic @ "3.1.3.2.6",
        /// Data that ties a response to its request.
        correlation_data: once CorrelationData @ "3.1.3.2.7",
        /// User properties, in order [MQTT-3.1.3-10].
        user_properties: many UserProperty @ "3.1.3.2.8",
    }

    /// Properties of CONNACK (spec 3.2.2.3).
    ConnAckProperties {
        /// Session expiry the server chose, if it differs from the client's.
        session_expiry_interval: once SessionExpiryInterval @ "3.2.2.3.2",
        /// How many QoS 1/2 publications the server processes concurrently (never 0).
        receive_maximum: once ReceiveMaximum @ "3.2.2.3.3",
        /// Highest QoS the server supports: only 0 or 1 may be sent (absent means 2).
        maximum_qos: once MaximumQoS @ "3.2.2.3.4",
        /// Whether the server supports retained messages.
        retain_available: once RetainAvailable @ "3.2.2.3.5",
        /// Largest packet the server accepts (never 0).
        maximum_packet_size: once MaximumPacketSize @ "3.2.2.3.6",
        /// Client identifier the server assigned to a client that sent an empty one.
        assigned_client_identifier: once AssignedClientIdentifier @ "3.2.2.3.7",
        /// Highest topic alias the server accepts from the client.
        topic_alias_maximum: once TopicAliasMaximum @ "3.2.2.3.8",
        /// Human-readable diagnostic.
        reason_string: once ReasonString @ "3.2.2.3.9",
        /// User properties, in order.
        user_properties: many UserProperty @ "3.2.2.3.10",
        /// Whether the server supports wildcard subscriptions.
        wildcard_subscription_available: once WildcardSubscriptionAvailable @ "3.2.2.3.11",
        /// Whether the server supports subscription identifiers.
        subscription_identifiers_available: once SubscriptionIdentifierAvailable @ "3.2.2.3.12",
        /// Whether the server supports shared subscriptions.
        shared_subscription_available: once SharedSubscriptionAvailable @ "3.2.2.3.13",
        /// Keep alive the server imposes instead of the client's.
        server_keep_alive: once ServerKeepAlive @ "3.2.2.3.14",
        /// Basis for response topics, when the client asked for it.
        response_information: once ResponseInformation @ "3.2.2.3.15",
        /// Another server to use.
        server_reference: once ServerReference @ "3.2.2.3.16",
        /// Name of the extended authentication method.
        authentication_method: once AuthenticationMethod @ "3.2.2.3.17",
        /// Authentication data of that method.
        authentication_data: once AuthenticationData @ "3.2.2.3.18",
    }

    /// Properties of PUBLISH (spec 3.3.2.3).
    PublishProperties {
        /// Whether the payload is UTF-8 text.
        payload_format_indicator: once PayloadFormatIndicator @ "3.3.2.3.2",
        /// Lifetime of the message in seconds.
        message_expiry_interval: once MessageExpiryInterval @ "3.3.2.3.3",
        /// Topic alias (never 0 [MQTT-3.3.2-8]). With an alias the topic name may be empty.
        topic_alias: once TopicAlias @ "3.3.2.3.4",
        /// Topic for a response (a topic name: no wildcards [MQTT-3.3.2-14]).
        response_topic: once ResponseTopic @ "3.3.2.3.5",
        /// Data that ties a response to its request.
        correlation_data: once CorrelationData @ "3.3.2.3.6",
        /// User properties, in order [MQTT-3.3.2-18].
        user_properties: many UserProperty @ "3.3.2.3.7",
        /// Identifiers of the subscriptions that matched (server to client only; may repeat).
        subscription_identifiers: many SubscriptionIdentifier @ "3.3.2.3.8",
        /// MIME-like description of the payload.
        content_type: once ContentType @ "3.3.2.3.9",
    }

    /// Properties of PUBACK, PUBREC, PUBREL, PUBCOMP, SUBACK and UNSUBACK: a reason string and user properties
    /// (spec 3.4.2.2, 3.5.2.2, 3.6.2.2, 3.7.2.2, 3.9.2.1 and 3.11.2.1).
    AckProperties {
        /// Human-readable diagnostic.
        reason_string: once ReasonString,
        /// User properties, in order.
        user_properties: many UserProperty,
    }

    /// Properties of SUBSCRIBE (spec 3.8.2.1).
    SubscribeProperties {
        /// Identifier the server attaches to messages delivered for these subscriptions (never 0).
        subscription_identifier: once SubscriptionIdentifier @ "3.8.2.1.2",
        /// User properties, in order.
        user_properties: many UserProperty @ "3.8.2.1.3",
    }

    /// Properties of UNSUBSCRIBE (spec 3.10.2.1): user properties only.
    UnsubscribeProperties {
        /// User properties, in order.
        user_properties: many UserProperty @ "3.10.2.1.2",
    }

    /// Properties of DISCONNECT (spec 3.14.2.2).
    DisconnectProperties {
        /// New session expiry, sent by the client only.
        session_expiry_interval: once SessionExpiryInterval @ "3.14.2.2.2",
        /// Human-readable diagnostic.
        reason_string: once ReasonString @ "3.14.2.2.3",
        /// User properties, in order.
        user_properties: many UserProperty @ "3.14.2.2.4",
        /// Another server to use.
        server_reference: once ServerReference @ "3.14.2.2.5",
    }

    /// Properties of AUTH (spec 3.15.2.2).
    AuthProperties {
        /// Name of the extended authentication method.
        authentication_method: once AuthenticationMethod @ "3.15.2.2.2",
        /// Authentication data of that method.
        authentication_data: once AuthenticationData @ "3.15.2.2.3",
        /// Human-readable diagnostic.
        reason_string: once ReasonString @ "3.15.2.2.4",
        /// User properties, in order.
        user_properties: many UserProperty @ "3.15.2.2.5",
    }
}
