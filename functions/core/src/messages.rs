//! What the functions say to supporters, in the site's language.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Says {
    Thanks,
    RsvpConfirmed,
    RsvpWaitlisted,
    CheckFields,
    Malformed,
    TooLarge,
    ContentType,
    Origin,
    TooMany,
    TryAgain,
    UnknownEvent,
    RsvpClosed,
    EventPast,
    BadLink,
    Confirmed,
    UnsubscribeTitle,
    UnsubscribeAll,
    UnsubscribeTopics,
    UnsubscribeTopicsButton,
    Unsubscribed,
    TopicsRemoved,
    CancelTitle,
    CancelButton,
    Cancelled,
    BackToSite,
    BackToForm,
    Hello,
    HelloName,
    OverCap,
    MonthlyClosed,
    CountryRefused,
    DonationsClosed,
    DonationTitle,
}

impl Says {
    pub fn text(self, lang: &str) -> &'static str {
        let fr = lang == "fr";
        macro_rules! pick {
            ($fr:expr, $en:expr) => {
                if fr { $fr } else { $en }
            };
        }
        match self {
            Says::OverCap => pick!(
                "Ce don dépasserait, avec vos dons précédents, le plafond légal des dons par personne. Choisissez un montant plus petit.",
                "With your earlier gifts, this one would go over the legal cap per person. Choose a smaller amount."
            ),
            Says::MonthlyClosed => pick!(
                "La campagne ne propose pas de dons mensuels.",
                "The campaign does not take monthly gifts."
            ),
            Says::CountryRefused => pick!(
                "La loi ne permet à la campagne d’accepter que les dons de personnes résidant dans les pays prévus.",
                "The law lets the campaign take gifts only from people living in the countries it allows."
            ),
            Says::DonationsClosed => pick!(
                "Les dons en ligne ne sont pas encore ouverts. Réessayez plus tard, ou écrivez à la campagne.",
                "Online gifts are not open yet. Try again later, or write to the campaign."
            ),
            Says::DonationTitle => pick!("Don à", "Gift to"),
            Says::Thanks => pick!(
                "Merci ! Votre message est bien arrivé.",
                "Thank you! Your message has arrived."
            ),
            Says::RsvpConfirmed => pick!(
                "Votre inscription est confirmée. Un e-mail vous en donne le détail.",
                "You are registered. An email gives you the details."
            ),
            Says::RsvpWaitlisted => pick!(
                "C’est complet : vous êtes sur la liste d’attente. Nous vous écrirons si une place se libère.",
                "It is full: you are on the waiting list. We will write to you if a seat frees up."
            ),
            Says::CheckFields => pick!(
                "Vérifiez les champs indiqués.",
                "Please check the fields shown."
            ),
            Says::Malformed => pick!(
                "Le formulaire envoyé est illisible. Rechargez la page et réessayez.",
                "The form sent could not be read. Reload the page and try again."
            ),
            Says::TooLarge => pick!(
                "Le formulaire envoyé est trop volumineux.",
                "The form sent is too large."
            ),
            Says::ContentType => pick!(
                "Ce type d’envoi n’est pas accepté.",
                "This kind of submission is not accepted."
            ),
            Says::Origin => pick!(
                "Ce formulaire doit être envoyé depuis le site de la campagne.",
                "This form must be sent from the campaign's site."
            ),
            Says::TooMany => pick!(
                "Trop d’envois depuis votre connexion. Réessayez dans quelques minutes.",
                "Too many submissions from your connection. Try again in a few minutes."
            ),
            Says::TryAgain => pick!(
                "Un problème technique nous empêche d’enregistrer votre envoi. Réessayez dans un instant : rien n’a été perdu.",
                "A technical problem stops us from saving your submission. Try again in a moment: nothing was lost."
            ),
            Says::UnknownEvent => {
                pick!("Cet événement n’existe pas.", "This event does not exist.")
            }
            Says::RsvpClosed => pick!(
                "Les inscriptions à cet événement ne se font pas en ligne.",
                "This event does not take registrations online."
            ),
            Says::EventPast => pick!("Cet événement est passé.", "This event is over."),
            Says::BadLink => pick!(
                "Ce lien n’est pas ou plus valide.",
                "This link is not valid, or no longer."
            ),
            Says::Confirmed => pick!(
                "Merci, votre adresse est confirmée.",
                "Thank you, your address is confirmed."
            ),
            Says::UnsubscribeTitle => pick!("Se désinscrire", "Unsubscribe"),
            Says::UnsubscribeAll => pick!("Ne plus rien recevoir", "Receive nothing more"),
            Says::UnsubscribeTopics => pick!(
                "Ou ne plus recevoir les messages sur ces sujets :",
                "Or stop receiving messages on these topics:"
            ),
            Says::UnsubscribeTopicsButton => pick!("Retirer ces sujets", "Remove these topics"),
            Says::Unsubscribed => pick!(
                "C’est fait : vous ne recevrez plus nos messages.",
                "Done: you will receive no more messages from us."
            ),
            Says::TopicsRemoved => pick!(
                "C’est fait : ces sujets sont retirés.",
                "Done: these topics are removed."
            ),
            Says::CancelTitle => pick!("Annuler mon inscription", "Cancel my registration"),
            Says::CancelButton => pick!("Annuler mon inscription", "Cancel my registration"),
            Says::Cancelled => pick!(
                "Votre inscription est annulée. Merci de nous avoir prévenus.",
                "Your registration is cancelled. Thank you for telling us."
            ),
            Says::BackToSite => pick!("Retour au site", "Back to the site"),
            Says::BackToForm => pick!("Retour au formulaire", "Back to the form"),
            Says::Hello => pick!("Bonjour,", "Hello,"),
            Says::HelloName => pick!("Bonjour {},", "Hello {},"),
        }
    }
}
