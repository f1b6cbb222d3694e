-- api_dlq: the dead-lettered records between {from} and {to} (dlq FINAL)
-- by reason, source topic and event type: how many, and the first and
-- latest; most frequent first.
SELECT
    toString(reason)      AS reason,
    toString(src_topic)   AS topic,
    toString(event_type)  AS event_type,
    count()               AS records,
    min(ts)               AS first,
    max(ts)               AS last
FROM dlq FINAL
WHERE ts >= {from:DateTime64(3)} AND ts <= {to:DateTime64(3)}
GROUP BY reason, topic, event_type
ORDER BY records DESC, reason, topic, event_type
