-- What each assistant decision used: the model, tokens and cost, how long the model took, whether the
-- knowledge base was consulted and with what result, and which chunks the reply cited. Analytics sums these
-- per day (rag_queries, rag_empty, tokens, cost); the reply message's payload carries the same for clients.
ALTER TABLE message_replies
    ADD COLUMN model             text CHECK (length(model) BETWEEN 1 AND 200),
    ADD COLUMN retrieval         text CHECK (retrieval IN ('off', 'hits', 'empty', 'failed')),
    ADD COLUMN prompt_tokens     integer NOT NULL DEFAULT 0 CHECK (prompt_tokens >= 0),
    ADD COLUMN completion_tokens integer NOT NULL DEFAULT 0 CHECK (completion_tokens >= 0),
    ADD COLUMN cost_micro_usd    bigint NOT NULL DEFAULT 0 CHECK (cost_micro_usd >= 0),
    ADD COLUMN latency_ms        integer CHECK (latency_ms >= 0),
    ADD COLUMN confidence        real CHECK (confidence BETWEEN 0 AND 1),
    ADD COLUMN citations         jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(citations) = 'array');
