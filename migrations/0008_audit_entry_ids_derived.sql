-- Hand-written data migration: a bulk audit row's entries no longer store their own UUID (directoryAudits derives an
-- entry's id from its row and position), so entries written as [entryId, userId, …] drop their first element.
UPDATE `audit_log`
SET `entries` = (SELECT json_group_array(json_remove(e.value, '$[0]')) FROM json_each(`audit_log`.`entries`) e)
WHERE `entries` IS NOT NULL AND json_type(`entries`, '$[0][3]') = 'text';
