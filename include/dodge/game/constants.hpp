// Fixed numbers of the dodgeball game (GAME.md). Tunables with a config key live in GameConfig;
// these are the rules that never change.
#pragma once

namespace dodge::game {

// World
inline constexpr double kCourtHalfX = 5.0;  // court spans x in [-5, 5] (world units)
inline constexpr double kCourtHalfY = 4.0;  // court spans y in [-4, 4] (world units)

// Player
inline constexpr double kPlayerRadius = 0.5;        // collision sphere radius (units)
inline constexpr double kPlayerStartHeight = 1.0;   // centre z at rest (units)
inline constexpr double kJumpVelocity = 7.0;        // vertical speed set by a jump (units/s)
inline constexpr double kPlayerGravity = 20.0;      // gravity acting on the player (units/s^2)
inline constexpr double kMaxTilt = 0.523;           // pitch/roll limit, visual only (rad)

// Balls
inline constexpr double kBallRadius = 0.3;          // ball radius (units)
inline constexpr double kBallGravity = 9.8;         // gravity acting on balls (units/s^2)
inline constexpr double kBounceHeight = 0.3;        // ball centre z at which it bounces (units)
inline constexpr double kRestitution = 0.7;         // fraction of v_z kept (and reversed) on a bounce
inline constexpr double kBounceFriction = 0.95;     // factor on vx, vy at a bounce
inline constexpr double kSpawnDistance = 20.0;      // distance of the spawn point from the origin (units)
inline constexpr double kLevel1SpawnHalfWidth = 1.5;  // level 1 spawn x ~ U[-1.5, 1.5) (units)
inline constexpr double kAimHeight = 1.0;           // balls are aimed at z = 1.0 (units)
inline constexpr double kIndicatorRadius = 0.2;     // thrower indicator radius (units)

// Ball removal box (units)
inline constexpr double kRemoveBelowZ = -5.0;
inline constexpr double kRemoveBelowY = -25.0;
inline constexpr double kRemoveAboveY = 30.0;
inline constexpr double kRemoveAbsX = 30.0;

// Collision
inline constexpr double kHitDistance = kPlayerRadius + kBallRadius;  // centre distance of a hit (units)

// Level-dependent defaults (GAME.md section 6)
inline constexpr double kLevel1SpawnInterval = 2.0;  // seconds between throws
inline constexpr double kLevel2SpawnInterval = 0.5;  // seconds between throws
inline constexpr double kLevel1SpawnHeight = 2.5;    // spawn z (units)
inline constexpr double kLevel2SpawnHeight = 1.5;    // spawn z (units)
inline constexpr double kLevel1FlightTime = 2.0;     // time from spawn to aim point (s)
inline constexpr double kLevel2FlightTime = 0.8;     // time from spawn to aim point (s)

// Observations
inline constexpr int kObsBallSlots = 10;                        // balls in the vector observation
inline constexpr int kObsBallFloats = 6;                        // x, y, z, vx, vy, vz per ball
inline constexpr int kObsStandardSize = 5 + kObsBallSlots * kObsBallFloats;  // 65 floats
inline constexpr int kObsThrowerSize = kObsStandardSize + 4;   // 69 floats

}  // namespace dodge::game
