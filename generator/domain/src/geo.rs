//! Geography for audiences: where a supporter is, and who lives within some
//! distance of a place.
//!
//! Campaigns write audiences such as "within 100 km of Valenciennes" or "in
//! the Nord". A supporter only gives a country and a postcode, so the
//! [`Gazetteer`] turns a French postcode or a commune name into communes,
//! a département and a [`Point`], from a file embedded in the binary
//! (`data/fr-postcodes.tsv`, open data; its README names the sources and
//! licences). Nothing is asked of an outside service at run time: a
//! supporter's postcode never leaves the campaign's own account.
//!
//! Distances are great-circle distances on a sphere of the Earth's mean
//! radius, which is within 0.5 % of the ellipsoid: plenty for "within 100 km"
//! when the supporter's own position is only known to the postcode.

mod gazetteer;
mod places;

pub use gazetteer::{Commune, Gazetteer, GazetteerError, Locality};
pub use places::Place;

/// Mean Earth radius (IUGG), in kilometres.
pub const EARTH_RADIUS_KM: f64 = 6371.0088;

/// A position in WGS 84 degrees: latitude north, longitude east.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    pub lat: f64,
    pub lon: f64,
}

impl Point {
    /// A point from coordinates that may come from outside (a stored record,
    /// a campaign file): `None` unless both are finite, the latitude within
    /// ±90 and the longitude within ±180.
    pub fn checked(lat: f64, lon: f64) -> Option<Point> {
        let valid = (-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lon);
        valid.then_some(Point { lat, lon })
    }
}

/// Great-circle distance between two points, in kilometres (haversine).
pub fn distance_km(a: Point, b: Point) -> f64 {
    let lat_a = a.lat.to_radians();
    let h = haversine_term(lat_a, lat_a.cos(), a.lon, b);
    2.0 * EARTH_RADIUS_KM * h.clamp(0.0, 1.0).sqrt().asin()
}

/// Whether `b` lies within `km` kilometres of `a`. To test many points
/// against one centre, build a [`Circle`] once instead.
pub fn within_km(a: Point, b: Point, km: f64) -> bool {
    Circle::new(a, km).contains(b)
}

/// `sin²(Δφ/2) + cos φa · cos φb · sin²(Δλ/2)`, the quantity haversine
/// distances grow with; `lat_a` in radians with its cosine precomputed,
/// `lon_a` in degrees.
fn haversine_term(lat_a: f64, cos_lat_a: f64, lon_a: f64, b: Point) -> f64 {
    let lat_b = b.lat.to_radians();
    let half_dlat = ((lat_b - lat_a) / 2.0).sin();
    let half_dlon = ((b.lon - lon_a).to_radians() / 2.0).sin();
    half_dlat * half_dlat + cos_lat_a * lat_b.cos() * half_dlon * half_dlon
}

/// Everything within a distance of a centre, prepared for testing a great
/// many points: [`Circle::contains`] allocates nothing, rejects most points
/// with a latitude/longitude box, and compares the haversine term against a
/// precomputed bound, so no square root or arcsine is taken per point.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Circle {
    center: Point,
    radius_km: f64,
    center_lat_rad: f64,
    cos_center_lat: f64,
    /// Largest latitude difference, in degrees.
    max_dlat: f64,
    /// Largest longitude difference, in degrees; `None` when the circle
    /// covers a pole and every longitude can be inside.
    max_dlon: Option<f64>,
    /// The haversine term at exactly `radius_km`.
    max_term: f64,
}

impl Circle {
    /// The circle of `radius_km` around `center`. A negative or NaN radius
    /// contains nothing; one of half the Earth's circumference or more
    /// contains every valid point.
    pub fn new(center: Point, radius_km: f64) -> Circle {
        let angle = radius_km / EARTH_RADIUS_KM;
        let center_lat_rad = center.lat.to_radians();
        let cos_center_lat = center_lat_rad.cos();
        // Both bounds are widened by a hair so that rounding in the box never
        // rejects a point the exact test would accept.
        let slack = 1e-9;
        let max_dlat = angle.to_degrees() + slack;
        let pole_inside = (center_lat_rad.abs() + angle) >= std::f64::consts::FRAC_PI_2;
        let max_dlon = if pole_inside || angle.is_nan() {
            None
        } else {
            Some(
                (angle.sin() / cos_center_lat)
                    .clamp(-1.0, 1.0)
                    .asin()
                    .to_degrees()
                    + slack,
            )
        };
        let max_term = if angle >= std::f64::consts::PI {
            f64::INFINITY
        } else if angle >= 0.0 {
            (angle / 2.0).sin().powi(2)
        } else {
            // Negative or NaN: no haversine term is below this.
            f64::NEG_INFINITY
        };
        Circle {
            center,
            radius_km,
            center_lat_rad,
            cos_center_lat,
            max_dlat,
            max_dlon,
            max_term,
        }
    }

    pub fn center(&self) -> Point {
        self.center
    }

    pub fn radius_km(&self) -> f64 {
        self.radius_km
    }

    /// Whether `point` is within the radius of the centre. Points with NaN
    /// coordinates are never inside.
    pub fn contains(&self, point: Point) -> bool {
        // Written so that a NaN anywhere makes a comparison false and the
        // point stays out.
        let lat_close = (point.lat - self.center.lat).abs() <= self.max_dlat;
        if !lat_close {
            return false;
        }
        if let Some(max_dlon) = self.max_dlon {
            let mut dlon = (point.lon - self.center.lon).abs();
            if dlon > 180.0 {
                dlon = 360.0 - dlon;
            }
            let lon_close = dlon <= max_dlon;
            if !lon_close {
                return false;
            }
        }
        let term = haversine_term(
            self.center_lat_rad,
            self.cos_center_lat,
            self.center.lon,
            point,
        );
        term <= self.max_term
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VALENCIENNES: Point = Point {
        lat: 50.3579,
        lon: 3.5237,
    };

    #[test]
    fn distance_is_zero_to_itself_and_symmetric() {
        let marseille = Point {
            lat: 43.2965,
            lon: 5.3698,
        };
        assert_eq!(distance_km(VALENCIENNES, VALENCIENNES), 0.0);
        let there = distance_km(VALENCIENNES, marseille);
        let back = distance_km(marseille, VALENCIENNES);
        assert!((there - back).abs() < 1e-9);
    }

    #[test]
    fn one_degree_of_latitude_is_about_111_km() {
        let north = Point {
            lat: VALENCIENNES.lat + 1.0,
            lon: VALENCIENNES.lon,
        };
        assert!((distance_km(VALENCIENNES, north) - 111.195).abs() < 0.01);
    }

    #[test]
    fn circle_agrees_with_distance_around_the_boundary() {
        let circle = Circle::new(VALENCIENNES, 100.0);
        for step in 0..360 {
            let bearing = f64::from(step).to_radians();
            for km in [0.0, 50.0, 99.9, 100.1, 150.0] {
                let point = Point {
                    lat: VALENCIENNES.lat + km / 111.195 * bearing.cos(),
                    lon: VALENCIENNES.lon
                        + km / (111.195 * VALENCIENNES.lat.to_radians().cos()) * bearing.sin(),
                };
                let expected = distance_km(VALENCIENNES, point) <= 100.0;
                assert_eq!(circle.contains(point), expected, "{point:?}");
            }
        }
    }

    #[test]
    fn circles_across_the_antimeridian_and_over_a_pole() {
        let fiji = Point {
            lat: -17.0,
            lon: 179.9,
        };
        let across = Point {
            lat: -17.0,
            lon: -179.9,
        };
        assert!(within_km(fiji, across, 30.0));
        let near_pole = Point {
            lat: 89.5,
            lon: 0.0,
        };
        let other_side = Point {
            lat: 89.5,
            lon: 180.0,
        };
        assert!(within_km(near_pole, other_side, 120.0));
        assert!(!within_km(near_pole, other_side, 100.0));
    }

    #[test]
    fn degenerate_radii_and_points() {
        assert!(!within_km(VALENCIENNES, VALENCIENNES, -1.0));
        assert!(!within_km(VALENCIENNES, VALENCIENNES, f64::NAN));
        let antipode = Point {
            lat: -VALENCIENNES.lat,
            lon: VALENCIENNES.lon - 180.0,
        };
        assert!(within_km(VALENCIENNES, antipode, 20_100.0));
        let nowhere = Point {
            lat: f64::NAN,
            lon: 0.0,
        };
        assert!(!within_km(VALENCIENNES, nowhere, 20_100.0));
        assert_eq!(Point::checked(91.0, 0.0), None);
        assert_eq!(Point::checked(f64::NAN, 0.0), None);
        assert!(Point::checked(-90.0, 180.0).is_some());
    }
}
