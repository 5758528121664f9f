-- A live feed's doorbell (as workers have theirs): writers that changed anything ring
-- every open feed once they have committed, so a change reaches a server-sent event
-- stream within a millisecond instead of at the feed's next poll of the change log (the
-- poll stays, for a lost datagram).
ALTER TABLE change_feeds ADD COLUMN doorbell TEXT;
