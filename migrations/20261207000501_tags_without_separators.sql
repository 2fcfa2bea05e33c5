-- A contact tag can no longer hold , ; or | (rules::tags): they separate tags in a CSV cell, so
-- such a tag did not come back the same from an export and import. Existing ones get a hyphen
-- instead (first spelling kept when two become the same, order kept).
UPDATE contacts
SET tags = ARRAY(
    SELECT s.tag FROM (
        SELECT translate(u.tag, ',;|', '---') AS tag, min(u.n) AS n
        FROM unnest(contacts.tags) WITH ORDINALITY AS u(tag, n)
        GROUP BY 1
    ) AS s ORDER BY s.n)
WHERE EXISTS (SELECT 1 FROM unnest(contacts.tags) AS t WHERE t ~ '[,;|]');
